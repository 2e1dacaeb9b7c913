// The sandbox page: four chats, live from /api/events; what you do in them goes to /api/* as a Telegram user's
// action. Plain DOM, no build step.
"use strict";

const JOBS = {
  operator_checks: "проверено операторов",
  idle_warning: "предупреждений о тишине",
  idle_close: "диалогов закрыто по тишине",
  waiting_expiry: "заявок закрыто за давностью",
  waiting_reminders: "напоминаний",
  stale_cards: "карточек обновлено",
  outbox_redelivery: "сообщений доотправлено",
  media_archive: "файлов в архив",
  retention: "старых записей удалено",
  dead_letters: "в отчёте о недоставленном",
};
const REACTION = "👍";

let state = null;
let customerId = null;
let groupAs = Number(new URLSearchParams(location.search).get("as")) || null;
const replyingTo = new Map(); // chat id -> message id
const waitingAnswers = new Set(); // callback query ids pressed on this page
const shownAnswers = new Set();

const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
};

function toast(text, alert = false) {
  const node = el("div", { class: alert ? "toast alert" : "toast", role: alert ? "alert" : "status" }, text);
  document.getElementById("toasts").append(node);
  setTimeout(() => node.remove(), alert ? 6000 : 3500);
}

async function api(path, body, options = {}) {
  // The header tells the server this is the page's own action, not another site's form.
  const init = options.raw
    ? { method: "POST", body: options.raw, headers: { "Content-Type": options.type || "application/octet-stream", "X-Zabota-Sandbox": "1" } }
    : { method: "POST", body: JSON.stringify(body || {}), headers: { "Content-Type": "application/json", "X-Zabota-Sandbox": "1" } };
  const response = await fetch(path, init);
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    toast(answer.error || `Ошибка ${response.status}`, true);
    throw new Error(answer.error || response.statusText);
  }
  return answer;
}

const customers = () => state.people.filter((p) => p.role === "customer");
const operators = () => state.people.filter((p) => p.role !== "customer");
const personName = (id) => (state.people.find((p) => p.id === id) || {}).name;

// ---- one chat: messages, reply keyboard, composer -------------------------------------------------------------

function setUpChat(chat) {
  const fileInput = el("input", { type: "file", "aria-label": "Файл" });
  const text = el("input", { type: "text", placeholder: "Сообщение", "aria-label": "Сообщение" });
  const send = el("button", { type: "button", class: "send", title: "Отправить", "aria-label": "Отправить" }, "➤");
  const attach = el("button", { type: "button", class: "attach", title: "Прикрепить фото или файл" }, "📎");
  const replying = el("div", { class: "replying", hidden: "" });
  chat.append(el("div", { class: "messages" }), el("div", { class: "keyboard", hidden: "" }), replying,
    el("div", { class: "composer" }, chat.dataset.kind === "group" ? null : attach, fileInput, text, send));

  const submit = async () => {
    const value = text.value;
    if (!value.trim() || !chat.dataset.chat) return;
    const target = Number(chat.dataset.chat);
    text.value = "";
    const reply = replyingTo.get(target);
    replyingTo.delete(target);
    await api("/api/write", { chat: target, from: Number(chat.dataset.from), text: value, reply_to: reply || null })
      .catch(() => { text.value = value; });
    renderReplying(chat);
  };
  send.addEventListener("click", submit);
  text.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); submit(); } });
  attach.addEventListener("click", () => fileInput.click());
  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file) return;
    const query = new URLSearchParams({ from: chat.dataset.from, name: file.name, caption: text.value });
    text.value = "";
    await api(`/api/file?${query}`, null, { raw: file, type: file.type }).catch(() => {});
  });
}

function renderReplying(chat) {
  const box = chat.querySelector(".replying");
  const target = replyingTo.get(Number(chat.dataset.chat));
  box.hidden = !target;
  box.replaceChildren();
  if (target) {
    box.append(el("span", {}, `↩ Ответ на сообщение №${target}`),
      el("button", { type: "button", title: "Не отвечать", onclick: () => { replyingTo.delete(Number(chat.dataset.chat)); renderReplying(chat); } }, "✕"));
  }
}

function contentOf(message) {
  const parts = [];
  const photo = message.photo && message.photo[message.photo.length - 1];
  if (photo) {
    const img = el("img", { src: `/api/files/${encodeURIComponent(photo.file_id)}`, alt: "Фото" });
    img.addEventListener("error", () => img.replaceWith(el("div", { class: "kind" }, "🖼 Фото")));
    // A picture grows its message once loaded: a chat that was scrolled to the end stays at the end.
    img.addEventListener("load", () => {
      const box = img.closest(".messages");
      if (box && box.scrollHeight - box.scrollTop - box.clientHeight < img.clientHeight + 80) box.scrollTop = box.scrollHeight;
    });
    parts.push(img);
  }
  if (message.document && !message.animation) {
    const doc = message.document;
    parts.push(el("a", { class: "kind", href: `/api/files/${encodeURIComponent(doc.file_id)}`, download: doc.file_name || "file" },
      `📄 ${doc.file_name || "Файл"}`));
  }
  const kinds = [
    ["video", () => "🎬 Видео"], ["voice", () => "🎤 Голосовое сообщение"],
    ["audio", () => "🎵 Аудио"], ["video_note", () => "⏺ Видеосообщение"], ["sticker", (s) => s.emoji || "Стикер"],
    ["contact", (c) => `📇 ${c.first_name || "Контакт"}: ${c.phone_number}`], ["location", () => "📍 Место на карте"],
  ];
  for (const [field, label] of kinds) {
    if (message[field]) parts.push(el("div", { class: "kind" }, label(message[field])));
  }
  if (message.animation) parts.push(el("div", { class: "kind" }, "GIF"));
  const said = message.text ?? message.caption;
  if (said) parts.push(el("div", { class: "text" }, said));
  return parts;
}

function bubble(chat, message, byId) {
  const chatId = Number(chat.dataset.chat);
  const from = message.from || {};
  const fromBot = !!from.is_bot;
  const mine = !fromBot && from.id === Number(chat.dataset.from);
  const privateChat = chatId > 0;
  const node = el("div", { class: mine ? "msg out" : "msg in", "data-id": message.message_id });
  const body = el("div", { class: "bubble" });
  if (chatId < 0) body.append(el("div", { class: "sender" }, fromBot ? state.bot.name : from.first_name));
  if (message.forward_origin) {
    const origin = message.forward_origin;
    const who = origin.sender_user ? origin.sender_user.first_name : (origin.sender_chat || {}).title || "";
    body.append(el("div", { class: "forward" }, `Переслано от ${who}`));
  }
  if (message.reply_to_message) {
    const target = byId.get(message.reply_to_message.message_id);
    const quoted = (message.quote && message.quote.text) || (target && (target.text ?? target.caption)) || "сообщение";
    body.append(el("div", { class: "quote" }, quoted.length > 80 ? `${quoted.slice(0, 80)}…` : quoted));
  }
  body.append(...contentOf(message));
  const time = new Date(message.date * 1000).toLocaleTimeString("ru-RU", { hour: "2-digit", minute: "2-digit" });
  body.append(el("div", { class: "meta" }, message.edit_date ? `изменено · ${time}` : time));
  const reactions = (message.bot_reaction || []).map((r) => r.emoji).filter(Boolean);
  if (reactions.length) body.append(el("span", { class: "reaction", title: "Реакция бота" }, reactions.join(" ")));
  node.append(body);

  const inline = message.reply_markup && message.reply_markup.inline_keyboard;
  if (fromBot && inline && inline.length) {
    node.append(el("div", { class: "inline" }, ...inline.map((row) => el("div", { class: "row" }, ...row.map((button) =>
      button.url
        ? el("button", { type: "button", onclick: () => { if (/^https?:\/\//i.test(button.url)) window.open(button.url, "_blank", "noopener"); } }, `${button.text} ↗`)
        : el("button", { type: "button", onclick: () => press(chat, message.message_id, button.callback_data) }, button.text))))));
  }
  if (privateChat) {
    const tools = el("div", { class: "tools" },
      el("button", { type: "button", title: "Ответить", onclick: () => { replyingTo.set(chatId, message.message_id); renderReplying(chat); chat.querySelector("input[type=text]").focus(); } }, "↩ ответить"),
      el("button", { type: "button", title: "Реакция", onclick: () => api("/api/react", { from: Number(chat.dataset.from), message_id: message.message_id, emoji: REACTION }).catch(() => {}) }, REACTION));
    if (mine && (message.text ?? message.caption) !== undefined) {
      tools.append(el("button", { type: "button", title: "Изменить", onclick: () => edit(chat, message) }, "✎ изменить"));
    }
    node.append(tools);
  }
  return node;
}

async function press(chat, messageId, data) {
  const answer = await api("/api/press", { chat: Number(chat.dataset.chat), from: Number(chat.dataset.from), message_id: messageId, data })
    .catch(() => null);
  if (!answer) return;
  if (answer.callback_query_id) waitingAnswers.add(answer.callback_query_id);
  else toast("Этого сообщения уже нет");
}

async function edit(chat, message) {
  const old = message.text ?? message.caption ?? "";
  const text = window.prompt("Новый текст сообщения", old);
  if (text === null || text === old || !text.trim()) return;
  await api("/api/edit", { from: Number(chat.dataset.from), message_id: message.message_id, text }).catch(() => {});
}

/// The reply keyboard the bot left open in this chat: the newest message that set or removed one decides.
function replyKeyboard(messages) {
  for (let i = messages.length - 1; i >= 0; i--) {
    const markup = messages[i].from && messages[i].from.is_bot && messages[i].reply_markup;
    if (markup && markup.keyboard) return markup.keyboard;
    if (markup && markup.remove_keyboard) return null;
  }
  return null;
}

function renderChat(chat, chatId, fromId, emptyText) {
  const changedChat = chat.dataset.chat !== String(chatId);
  chat.dataset.chat = chatId;
  chat.dataset.from = fromId;
  const messages = state.chats[String(chatId)] || [];
  const box = chat.querySelector(".messages");
  const atBottom = changedChat || box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  const byId = new Map(messages.map((m) => [m.message_id, m]));
  // A message that did not change keeps its node: a button being clicked is never swapped out under the pointer.
  const kept = new Map([...box.children].map((node) => [node.dataset.key, node]));
  const nodes = messages.map((m) => {
    const target = m.reply_to_message && byId.get(m.reply_to_message.message_id);
    const key = `${fromId}|${JSON.stringify(m)}|${target ? target.text ?? target.caption : ""}`;
    const node = kept.get(key) || bubble(chat, m, byId);
    node.dataset.key = key;
    return node;
  });
  if (!nodes.length) {
    const empty = kept.get("empty") || el("div", { class: "empty" }, emptyText);
    empty.dataset.key = "empty";
    nodes.push(empty);
  }
  nodes.forEach((node, i) => { if (box.children[i] !== node) box.insertBefore(node, box.children[i] || null); });
  while (box.children.length > nodes.length) box.lastElementChild.remove();
  if (atBottom) box.scrollTop = box.scrollHeight;

  const keyboard = chat.querySelector(".keyboard");
  const rows = replyKeyboard(messages);
  const rowsKey = `${fromId}|${JSON.stringify(rows)}`;
  keyboard.hidden = !rows;
  if (keyboard.dataset.key === rowsKey) { renderReplying(chat); return; }
  keyboard.dataset.key = rowsKey;
  keyboard.replaceChildren(...(rows || []).map((row) => el("div", { class: "row" }, ...row.map((button) => {
    const label = typeof button === "string" ? button : button.text;
    const action = button.request_contact
      ? () => api("/api/contact", { from: fromId }).catch(() => {})
      : () => api("/api/write", { chat: chatId, from: fromId, text: label }).catch(() => {});
    return el("button", { type: "button", onclick: action }, label);
  }))));
  renderReplying(chat);
}

// ---- the page --------------------------------------------------------------------------------------------------

function render() {
  const buyers = customers();
  if (!buyers.some((c) => c.id === customerId)) customerId = buyers.length ? buyers[0].id : null;
  const staff = operators();
  if (!staff.some((o) => o.id === groupAs)) groupAs = staff.length ? staff[0].id : null;

  const tabs = document.getElementById("customer-tabs");
  tabs.replaceChildren(...buyers.map((c) => el("button", {
    type: "button", class: c.id === customerId ? "on" : "", title: `${c.phone} · @${c.username}`,
    onclick: () => { customerId = c.id; render(); },
  }, c.name)));
  const customerChat = document.querySelector('#customer-pane .chat');
  renderChat(customerChat, customerId, customerId, "Напишите боту /start — так начинает любой покупатель.");

  document.getElementById("group-title").textContent = `${state.group.title} · группа операторов`;
  const select = document.getElementById("group-as");
  const options = staff.map((o) => `${o.id}:${o.name}`).join("|");
  if (select.dataset.options !== options) {
    select.dataset.options = options;
    select.replaceChildren(...staff.map((o) => el("option", { value: o.id }, o.name)));
  }
  select.value = String(groupAs);
  renderChat(document.querySelector("#group-pane .chat"), state.group.id, groupAs,
    "Здесь появятся карточки заявок с кнопкой «Взять в работу».");

  staff.slice(0, 2).forEach((operator, index) => {
    const pane = document.getElementById(`operator-pane-${index + 1}`);
    const role = operator.role === "supervisor" ? "старший оператор (администратор группы)" : "оператор";
    pane.querySelector(".who").textContent = `${operator.name} — ${role}`;
    renderChat(pane.querySelector(".chat"), operator.id, operator.id,
      "Взятый диалог идёт здесь: сообщения покупателя приходят от бота, ваши ответы бот пересылает ему.");
  });

  for (const answer of state.answers) {
    if (waitingAnswers.has(answer.id) && !shownAnswers.has(answer.id)) {
      shownAnswers.add(answer.id);
      waitingAnswers.delete(answer.id);
      if (answer.text) toast(answer.text, answer.show_alert);
    }
  }
}

function connect() {
  const live = document.getElementById("live");
  const events = new EventSource("/api/events");
  events.addEventListener("state", (event) => {
    state = JSON.parse(event.data);
    document.body.dataset.ready = "true";
    render();
  });
  events.addEventListener("open", () => { live.className = "live on"; live.title = "На связи"; });
  events.addEventListener("error", () => { live.className = "live"; live.title = "Нет связи с песочницей, переподключаюсь…"; });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".chat").forEach(setUpChat);
  document.getElementById("group-as").addEventListener("change", (e) => { groupAs = Number(e.target.value); render(); });
  document.getElementById("add-customer").addEventListener("click", async () => {
    const added = await api("/api/customers").catch(() => null);
    if (added) customerId = added.id;
  });
  document.querySelectorAll("[data-hours]").forEach((button) => button.addEventListener("click", async () => {
    const result = await api("/api/fast-forward", { hours: Number(button.dataset.hours) }).catch(() => null);
    if (!result) return;
    const done = result.jobs.map((j) => `${JOBS[j.job] || j.job}: ${j.affected}`).join(", ");
    toast(`Прошло ${button.textContent}. ${done || "Задачам по расписанию делать нечего."}`);
  }));
  document.getElementById("reset").addEventListener("click", async () => {
    if (!window.confirm("Сбросить песочницу? Все заявки и чаты исчезнут.")) return;
    await api("/api/reset").catch(() => {});
    replyingTo.clear();
  });
  connect();
});
