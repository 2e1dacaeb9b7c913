#!/usr/bin/env bash
# infra/tools.sh — install the Python-packaged tools the Makefile needs into .tools/ (virtualenvs, git-ignored)
# and print the path of the requested one. Nothing is installed system-wide.
#
# Usage: infra/tools.sh cfn-lint | checkov | cargo-lambda | sam | moto
#   cfn-lint      CloudFormation linter (offline)
#   checkov       IaC security scanner, run offline by `make security-lint`. Pinned, because each release adds
#                 checks (CI should fail on a change, not on a release), and in a virtualenv of its own,
#                 .tools/checkov/, because it pins dozens of libraries (boto3 among them) the other tools need too.
#   cargo-lambda  cargo-lambda with Zig (ziglang) for cross-compiling to Lambda's arm64
#   sam           AWS SAM CLI, for deploys
#   moto          moto_server: S3 and Secrets Manager on loopback, for tests
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=.tools
tool="${1:?usage: infra/tools.sh cfn-lint|checkov|cargo-lambda|sam|moto}"

case "$tool" in
    cfn-lint) packages=(cfn-lint) binary=cfn-lint ;;
    checkov) packages=(checkov==3.3.30) binary=checkov venv=.tools/checkov ;;
    cargo-lambda) packages=(cargo-lambda ziglang) binary=cargo-lambda ;;
    sam) packages=(aws-sam-cli) binary=sam ;;
    moto) packages=("moto[server]") binary=moto_server ;;
    *) echo "unknown tool: $tool" >&2; exit 2 ;;
esac

if [[ ! -x "$venv/bin/$binary" ]]; then
    echo "installing ${packages[*]} into $venv/ ..." >&2
    [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}" >&2
fi
echo "$PWD/$venv/bin/$binary"
