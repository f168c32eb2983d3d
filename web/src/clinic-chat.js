/*!
 * Clinic chat widget: a small website chat window for the clinic's Rasa assistant.
 *
 * Why our own widget: the popular Rasa web chat widgets (Botfront's rasa-webchat, scalableminds'
 * chatroom) are no longer maintained, are built on React and are usually embedded from a CDN.
 * This file has no dependencies besides the official socket.io-client (served from our
 * own server as /dist/socket.io.min.js, which defines `io`), makes no network calls other
 * than to the configured Rasa server, and never puts message data into innerHTML.
 *
 * Embed (see the README, "Website chat widget"):
 *   <script>window.ClinicChatConfig = { serverUrl: "https://rasa.example.org", title: "..." };</script>
 *   <link rel="stylesheet" href="/dist/clinic-chat.css">
 *   <script src="/dist/socket.io.min.js"></script>
 *   <script src="/dist/clinic-chat.js" defer></script>
 * Every option can also be set as a data- attribute of the clinic-chat.js script tag
 * (data-server-url, data-title, data-start-open="true", data-label-send="Go", ...);
 * data- attributes win over window.ClinicChatConfig.
 *
 * Languages: English and Spanish. The widget's own texts (chat button, title, placeholder, Send,
 * Close, the disclaimer, notices, screen-reader labels) start in the page's language and then
 * follow the conversation:
 *   - The page's language, the first found of: data-lang="es" on the script tag; data-lang on a
 *     <div id="clinic-chat"></div> the page may provide (the widget then builds itself inside
 *     it, and reads its data- attributes like the script tag's); ClinicChatConfig { lang: "es" };
 *     the nearest lang attribute around that div (or else the script tag), normally
 *     <html lang="es">. "es", "es-MX", "es-419"... mean Spanish; anything else English.
 *   - The conversation: when the assistant answers in Spanish, the widget switches to Spanish,
 *     and back to English when it answers in English, or at once when the visitor presses the
 *     assistant's "English" button (a button whose payload is /switch_language{"language": "en"};
 *     "Español" likewise). A bot message's language is its `lang` field when the server sends
 *     one ("en"/"es"), otherwise read from its text and button titles; a reply mixing both
 *     languages (the crisis message before the visitor's language is known) changes nothing.
 *   - The choice lives in the stored conversation (below), so it survives reloads and is
 *     shared by the tabs; a new conversation starts from the page's language again.
 * Every message element carries lang="en"/"es" (the assistant's: its own language; the
 * visitor's: the conversation's), and the widget's root element the widget's language.
 * A site can override any text in either language: English with `labels` / data-label-*,
 * Spanish with `labelsEs` / data-label-*-es, e.g.
 *   ClinicChatConfig = { labels: { open: "Questions?" }, labelsEs: { open: "¿Preguntas?" },
 *                        title: "Our clinic", titleEs: "Nuestra clínica",
 *                        openingMessage: "Hi!", openingMessageEs: "¡Hola!" }
 *   <script src="/dist/clinic-chat.js" data-lang="es" data-label-send-es="Mandar" defer></script>
 * Label names: open, close, inputLabel, placeholder, send, disclaimer, typing, connectionLost,
 * you, assistant, newMessage, image, attachment, callNumber, textNumber ("{number}" is replaced).
 * `title` without `titleEs` is used in both languages (a name); `openingMessage` without
 * `openingMessageEs` is shown in English in a Spanish chat too (marked lang="en").
 *
 * Protocol: Rasa's socketio channel with session_persistence: true (in credentials.yml; here
 * channels.socketio.OriginCheckedSocketIOInput, which only accepts ALLOWED_ORIGINS). The widget emits `session_request` {session_id} and waits for `session_confirm`,
 * then sends `user_uttered` {message, session_id, metadata: {page_language, chat_language}} and
 * renders every `bot_uttered`.
 * The session id and the transcript are kept in localStorage, so a reload or a second tab
 * continues the same conversation; tabs share the session's room, so all of them receive
 * the assistant's messages (including messages a staff member sends through Rasa's API).
 */
(function () {
  "use strict";

  if (window.ClinicChat && window.ClinicChat.started) return; // embedded twice

  // The widget's own texts. {number} in callNumber/textNumber: the crisis line a link dials.
  var DEFAULT_LABELS = {
    en: {
      open: "Chat with us",
      close: "Close chat",
      inputLabel: "Your message",
      placeholder: "Type your question…",
      send: "Send",
      disclaimer:
        "Automated assistant — not medical advice, not monitored for emergencies. " +
        "In an emergency call 911, or call or text 988.",
      typing: "The assistant is typing…",
      connectionLost: "Connection lost. Trying to reconnect…",
      you: "You said:",
      assistant: "Assistant said:",
      newMessage: "new message",
      image: "View image",
      attachment: "Open attachment",
      callNumber: "Call {number}",
      textNumber: "Text {number}",
    },
    // Spanish as the assistant speaks it (usted); crisis lines as in docs/crisis-resources.md.
    es: {
      open: "Escríbanos",
      close: "Cerrar el chat",
      inputLabel: "Su mensaje",
      placeholder: "Escriba su pregunta…",
      send: "Enviar",
      disclaimer:
        "Asistente automático: no da consejos médicos y nadie vigila este chat para emergencias. " +
        "En una emergencia llame al 911, o llame al 988 y marque 2 para español, o envíe AYUDA por texto al 988.",
      typing: "El asistente está escribiendo…",
      connectionLost: "Se perdió la conexión. Intentando reconectar…",
      you: "Usted dijo:",
      assistant: "El asistente dijo:",
      newMessage: "mensaje nuevo",
      image: "Ver la imagen",
      attachment: "Abrir el archivo adjunto",
      callNumber: "Llamar al {number}",
      textNumber: "Enviar un mensaje de texto al {number}",
    },
  };
  var DEFAULT_TITLES = { en: "Chat with us", es: "Chat con nosotros" };
  var LANGUAGES = ["en", "es"];

  var DEFAULTS = {
    serverUrl: "", // empty: the page's own origin
    socketPath: "/socket.io/",
    title: "",
    titleEs: "",
    primaryColor: "#0b5c6b",
    openingMessage: "",
    openingMessageEs: "",
    startOpen: false,
    historyHours: 24, // forget the conversation on this device after this long without activity
    lang: "", // the page's language; empty: from the page (see the header)
  };

  var TYPING_TIMEOUT_MS = 15000;
  var MAX_ENTRIES = 200;
  var MAX_MESSAGE_LENGTH = 2000;
  var LOCK_NAME = "clinic-chat-writer";

  // ---------------------------------------------------------------- configuration

  var scriptTag =
    document.currentScript || document.querySelector('script[src*="clinic-chat"]');

  /** "en" or "es" for a language tag ("es-MX" -> "es"); null for anything else. */
  function supportedLanguage(tag) {
    var primary = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
    return LANGUAGES.indexOf(primary) >= 0 ? primary : null;
  }

  function capitalized(key) {
    return key.charAt(0).toUpperCase() + key.slice(1);
  }

  function readConfig(container) {
    var given = window.ClinicChatConfig || {};
    var config = {};
    var key;
    for (key in DEFAULTS) config[key] = key in given ? given[key] : DEFAULTS[key];
    var overrides = { en: given.labels, es: given.labelsEs };
    config.labels = {};
    LANGUAGES.forEach(function (language) {
      config.labels[language] = {};
      for (key in DEFAULT_LABELS.en) {
        var override = overrides[language] && overrides[language][key];
        config.labels[language][key] = typeof override === "string" ? override : DEFAULT_LABELS[language][key];
      }
    });
    // data- attributes of the page's <div id="clinic-chat">, then of the script tag (which wins).
    var pageLanguage = null;
    [container, scriptTag].forEach(function (node) {
      if (!node || !node.dataset) return;
      var data = node.dataset;
      for (key in DEFAULTS) if (typeof data[key] === "string") config[key] = data[key];
      for (key in DEFAULT_LABELS.en) {
        var attr = "label" + capitalized(key); // data-label-input-label, data-label-input-label-es
        if (typeof data[attr] === "string") config.labels.en[key] = data[attr];
        if (typeof data[attr + "Es"] === "string") config.labels.es[key] = data[attr + "Es"];
      }
      if (supportedLanguage(data.lang)) pageLanguage = supportedLanguage(data.lang);
    });
    if (!pageLanguage) pageLanguage = supportedLanguage(given.lang);
    if (!pageLanguage) {
      var marked = (container || scriptTag || document.documentElement).closest("[lang]");
      pageLanguage = supportedLanguage(marked ? marked.getAttribute("lang") : document.documentElement.lang);
    }
    config.lang = pageLanguage || "en";
    config.startOpen = config.startOpen === true || config.startOpen === "true";
    config.historyHours = Number(config.historyHours) > 0 ? Number(config.historyHours) : DEFAULTS.historyHours;
    config.serverUrl = String(config.serverUrl || "").replace(/\/+$/, "");
    // A title given once is a name, the same in both languages.
    var title = String(config.title || "");
    config.title = {
      en: title || DEFAULT_TITLES.en,
      es: String(config.titleEs || "") || title || DEFAULT_TITLES.es,
    };
    config.openingMessage = { en: String(config.openingMessage || ""), es: String(config.openingMessageEs || "") };
    config.socketPath = String(config.socketPath || DEFAULTS.socketPath);
    var color = String(config.primaryColor || "");
    if (!(window.CSS && CSS.supports && CSS.supports("color", color))) color = DEFAULTS.primaryColor;
    config.primaryColor = color;
    return config;
  }

  var container = document.getElementById("clinic-chat"); // optional, provided by the page
  var config = readConfig(container);

  // ---------------------------------------------------------------- language

  function labels(language) {
    return config.labels[language] || config.labels.en;
  }

  // Words that mark a text as Spanish or English. The assistant's messages are whole sentences
  // (every response in domain.yml and data/responses/ is told apart by these lists; see
  // tests/test_webchat_spanish_browser.py); a short or mixed text ("Sí", "ok", a name) is neither.
  var SPANISH_WORDS = wordSet(
    "de del la las el los un una unos unas y o que qué se su sus por para con sin sobre entre hasta desde " +
    "es está están estar esta este esto estos estas eso esa ese fue ser hay puede puedo pueda podemos " +
    "le les lo nos mi mis usted ustedes él ella ellos yo nosotros nuestro nuestra nuestros nuestras " +
    "muy más pero también porque cuando donde dónde cómo cuál cuánto cuánta cuándo quién ya aquí ahora " +
    "si sí bien gracias hola claro todo todos cada otro otra algo alguien nada mucho después antes así " +
    "al tiene tengo quiere quiero gustaría ayudar ayuda consulta gratuita tratamiento persona equipo " +
    "cuesta precio efectos secundarios llame envíe mensaje"
  );
  var ENGLISH_WORDS = wordSet(
    "the and you your yours is are was were be been being to of in for with that this these those it its " +
    "can could would will should what how when where which who why our we us i i'm my have has had not " +
    "or at on an about if like please from do does did there they them their she her his all any some " +
    "more just also than then so but by as up out get help talk person free book here yes hi hello thank " +
    "thanks sorry you're it's don't can't i'll we'll let's what's here's that's cost costs treatment team " +
    "sure new start request"
  );

  function wordSet(list) {
    var set = {};
    list.split(" ").forEach(function (word) {
      if (word) set[word] = true;
    });
    return set;
  }

  /** "es" or "en" when the text is clearly in that language, else null. */
  function languageOf(text) {
    var lowered = String(text || "").toLowerCase().replace(/[\u2018\u2019]/g, "'");
    var tokens = lowered.match(/[a-z\u00c0-\u024f]+(?:'[a-z]+)?/g) || [];
    var es = (lowered.match(/[ñ¿¡]/g) || []).length;
    var en = 0;
    tokens.forEach(function (token) {
      if (SPANISH_WORDS.hasOwnProperty(token) || /[áéíóúü]/.test(token)) es += 1;
      if (ENGLISH_WORDS.hasOwnProperty(token)) en += 1;
    });
    if (es >= 2 && es >= 2 * en) return "es";
    if (en >= 2 && en >= 2 * es) return "en";
    return null;
  }

  // "/switch_language{"language": "es"}": the assistant's English / Español button.
  var LANGUAGE_CHOICE = /^\/switch_language\W.*"language"\s*:\s*"([A-Za-z-]+)"/;

  function chosenLanguage(payload) {
    var match = LANGUAGE_CHOICE.exec(String(payload || ""));
    return match ? supportedLanguage(match[1]) : null;
  }

  /** A bot message's own language: the server's `lang`, else its text and button titles. */
  function botLanguage(entry) {
    if (supportedLanguage(entry.lang)) return supportedLanguage(entry.lang);
    var titles = (entry.buttons || [])
      .filter(function (choice) {
        return !chosenLanguage(choice.payload); // "English" in a Spanish message, and the reverse
      })
      .map(function (choice) {
        return choice.title;
      });
    return languageOf([entry.text].concat(titles).join("\n"));
  }

  /** The conversation's language after `entries`, and each entry's language. Starts from the
   * page's language; a reply (the bot messages after a visitor's message) in one language sets
   * it, a reply in both leaves it; the visitor's English / Español button sets it at once. The
   * visitor's messages take the language of the reply they got. */
  function languages(entries) {
    var language = config.lang;
    var before = language; // when the current reply started
    var replyLanguage; // undefined: no clear message yet; null: both languages
    var waiting = []; // the visitor's messages before the current reply
    var replied = false;
    var each = [];
    entries.forEach(function (entry, index) {
      if (entry.from === "user") {
        if (replied) {
          waiting.forEach(function (earlier) {
            each[earlier] = language; // the language their reply ended in
          });
          waiting = [];
        }
        replied = false;
        var choice = supportedLanguage(entry.choice);
        if (choice) language = choice;
        else waiting.push(index);
        before = language;
        replyLanguage = undefined;
        each[index] = language;
        return;
      }
      replied = true;
      var own = botLanguage(entry);
      if (own) {
        replyLanguage = replyLanguage === undefined || replyLanguage === own ? own : null;
        language = replyLanguage || before;
      }
      each[index] = own || language;
    });
    waiting.forEach(function (index) {
      each[index] = language;
    });
    return { language: language, each: each };
  }

  // ---------------------------------------------------------------- storage

  // Keys are per Rasa server, so two assistants on one site do not mix conversations.
  var storagePrefix = "clinic-chat:" + (config.serverUrl || location.origin) + ":";
  var SESSION_KEY = storagePrefix + "session";
  var TRANSCRIPT_KEY = storagePrefix + "transcript";
  var memoryStore = {}; // used when localStorage is blocked (private modes, strict settings)

  function storageGet(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return key in memoryStore ? memoryStore[key] : null;
    }
  }

  function storageSet(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      memoryStore[key] = value;
    }
  }

  function storageRemove(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (e) {
      /* ignored */
    }
    delete memoryStore[key];
  }

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return (b < 16 ? "0" : "") + b.toString(16);
      })
      .join("");
  }

  function loadTranscript() {
    try {
      var entries = JSON.parse(storageGet(TRANSCRIPT_KEY) || "[]");
      if (!Array.isArray(entries)) return [];
      var last = entries.length ? entries[entries.length - 1].t || 0 : 0;
      if (last && Date.now() - last > config.historyHours * 3600 * 1000) {
        forgetConversation();
        return [];
      }
      return entries.filter(function (entry) {
        return entry && typeof entry === "object" && typeof entry.id === "string";
      });
    } catch (e) {
      return [];
    }
  }

  function forgetConversation() {
    storageRemove(TRANSCRIPT_KEY);
    storageRemove(SESSION_KEY);
  }

  function appendEntry(entry) {
    // Re-read right before writing: another tab may have added entries meanwhile.
    var entries = loadTranscript();
    entries.push(entry);
    if (entries.length > MAX_ENTRIES) entries = entries.slice(entries.length - MAX_ENTRIES);
    storageSet(TRANSCRIPT_KEY, JSON.stringify(entries));
    return entries;
  }

  function sessionId() {
    var id = storageGet(SESSION_KEY);
    if (!id || !/^[A-Za-z0-9_-]{8,128}$/.test(id)) {
      id = randomId();
      storageSet(SESSION_KEY, id);
    }
    return id;
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function safeHttpUrl(value) {
    if (typeof value !== "string") return null;
    try {
      var url = new URL(value.trim(), location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function externalLink(href, text) {
    var a = el("a", "cc-link", text);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  // http(s) URLs, and the crisis lines the crisis response gives (911, 988, 741741): tappable.
  var LINK_PATTERN = /\bhttps?:\/\/[^\s<>"']+|\b(?:911|988|741741)\b/gi;
  var CRISIS_LINES = { "911": "tel:911", "988": "tel:988", "741741": "sms:741741" };

  function crisisLineLink(number, language) {
    var a = el("a", "cc-link cc-phone", number);
    a.href = CRISIS_LINES[number];
    var texts = labels(language);
    var label = CRISIS_LINES[number].indexOf("sms:") === 0 ? texts.textNumber : texts.callNumber;
    label = label.replace("{number}", number);
    a.setAttribute("aria-label", label);
    a.title = label;
    return a;
  }

  /** Appends `text` to `parent` as text nodes: http(s) URLs and crisis lines become links (their
   * labels in `language`), newlines <br>. */
  function appendRichText(parent, text, language) {
    String(text).split(/\r?\n/).forEach(function (line, index) {
      if (index > 0) parent.appendChild(document.createElement("br"));
      var last = 0;
      line.replace(LINK_PATTERN, function (match, offset) {
        var link;
        var shown = match;
        if (CRISIS_LINES[match]) {
          link = crisisLineLink(match, language);
        } else {
          shown = match.replace(/[.,;:!?)\]]+$/, ""); // trailing punctuation belongs to the sentence
          var href = safeHttpUrl(shown);
          if (!href) return match;
          link = externalLink(href, shown);
        }
        if (offset > last) parent.appendChild(document.createTextNode(line.slice(last, offset)));
        parent.appendChild(link);
        last = offset + shown.length;
        return match;
      });
      if (last < line.length) parent.appendChild(document.createTextNode(line.slice(last)));
    });
  }

  // ---------------------------------------------------------------- UI

  var ids = { panel: "clinic-chat-panel", log: "clinic-chat-log", input: "clinic-chat-input" };
  var ui = {};

  function svgIcon(pathData) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "22");
    svg.setAttribute("height", "22");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  var CHAT_ICON =
    "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 " +
    "1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z";
  var CLOSE_ICON =
    "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z";

  function buildUi() {
    var root = container || el("div");
    root.classList.add("cc-root");
    root.id = "clinic-chat";
    root.style.setProperty("--cc-primary", config.primaryColor);

    var launcher = el("button", "cc-launcher");
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", ids.panel);
    launcher.appendChild(svgIcon(CHAT_ICON));
    var launcherText = el("span", "cc-launcher-text");
    launcher.appendChild(launcherText);
    var badge = el("span", "cc-badge"); // a dot; its text is for screen readers
    badge.hidden = true;
    var badgeText = el("span", "cc-visually-hidden");
    badge.appendChild(badgeText);
    launcher.appendChild(badge);

    var panel = el("div", "cc-panel");
    panel.id = ids.panel;
    panel.setAttribute("role", "dialog");
    panel.hidden = true;

    var header = el("div", "cc-header");
    var title = el("h2", "cc-title");
    header.appendChild(title);
    var closeButton = el("button", "cc-close");
    closeButton.type = "button";
    closeButton.appendChild(svgIcon(CLOSE_ICON));
    header.appendChild(closeButton);

    var disclaimer = el("p", "cc-disclaimer");
    var status = el("p", "cc-status");
    status.setAttribute("role", "status");

    var scroller = el("div", "cc-scroller");
    var log = el("div", "cc-log");
    log.id = ids.log;
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.tabIndex = 0; // focusable, so the keyboard scrolls the history (arrows, Page Up/Down); named in applyLanguage
    var typing = el("div", "cc-typing");
    typing.setAttribute("role", "status");
    typing.hidden = true;
    var dots = el("span", "cc-dots");
    dots.setAttribute("aria-hidden", "true");
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    dots.appendChild(el("span"));
    typing.appendChild(dots);
    var typingText = el("span", "cc-typing-text");
    typing.appendChild(typingText);
    scroller.appendChild(log);
    scroller.appendChild(typing);

    var form = el("form", "cc-form");
    form.setAttribute("novalidate", "");
    var label = el("label", "cc-visually-hidden");
    label.htmlFor = ids.input;
    var input = el("input", "cc-input");
    input.id = ids.input;
    input.type = "text";
    input.autocomplete = "off";
    input.maxLength = MAX_MESSAGE_LENGTH;
    var send = el("button", "cc-send");
    send.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(send);

    panel.appendChild(header);
    panel.appendChild(disclaimer);
    panel.appendChild(status);
    panel.appendChild(scroller);
    panel.appendChild(form);
    root.appendChild(panel);
    root.appendChild(launcher);
    if (!root.parentNode) document.body.appendChild(root);

    ui = {
      root: root,
      launcher: launcher,
      launcherText: launcherText,
      badge: badge,
      badgeText: badgeText,
      panel: panel,
      title: title,
      closeButton: closeButton,
      disclaimer: disclaimer,
      status: status,
      scroller: scroller,
      log: log,
      typing: typing,
      typingText: typingText,
      form: form,
      inputLabel: label,
      input: input,
      send: send,
    };
    applyLanguage(config.lang);

    launcher.addEventListener("click", function () {
      setOpen(ui.panel.hidden);
    });
    closeButton.addEventListener("click", function () {
      setOpen(false);
    });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        setOpen(false);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      input.value = "";
      sendMessage(text, text);
    });
    log.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button.cc-choice") : null;
      if (!button || button.disabled) return;
      sendMessage(button.dataset.payload, button.textContent);
      ui.input.focus();
    });
  }

  function setOpen(open, moveFocus) {
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    ui.root.classList.toggle("cc-is-open", open);
    if (open) {
      setUnread(false);
      connect();
      scrollToTurn();
    }
    if (moveFocus !== false) (open ? ui.input : ui.launcher).focus();
  }

  function setUnread(unread) {
    ui.badge.hidden = !unread;
    ui.badgeText.textContent = unread ? ", " + labels(widgetLanguage).newMessage : "";
  }

  var widgetLanguage = null;

  /** Puts the widget's own texts in `language` ("en"/"es"). */
  function applyLanguage(language) {
    if (language === widgetLanguage) return;
    widgetLanguage = language;
    var texts = labels(language);
    var title = config.title[language];
    ui.root.setAttribute("lang", language);
    ui.launcherText.textContent = texts.open;
    ui.panel.setAttribute("aria-label", title);
    ui.log.setAttribute("aria-label", title);
    ui.title.textContent = title;
    ui.closeButton.setAttribute("aria-label", texts.close);
    ui.closeButton.title = texts.close;
    ui.disclaimer.textContent = "";
    appendRichText(ui.disclaimer, texts.disclaimer, language);
    if (connectionLost) ui.status.textContent = texts.connectionLost;
    ui.typingText.textContent = texts.typing;
    ui.inputLabel.textContent = texts.inputLabel;
    ui.input.placeholder = texts.placeholder;
    ui.send.textContent = texts.send;
    if (!ui.badge.hidden) setUnread(true);
  }

  /** Scrolls to the end, but never past the start of the current turn (the visitor's latest
   * message, or the first unanswered assistant message): long answers are read from the top. */
  function scrollToTurn() {
    var nodes = ui.log.children;
    var start = null;
    for (var i = nodes.length - 1; i >= 0; i--) {
      start = nodes[i];
      if (nodes[i].classList.contains("cc-msg-user")) break;
    }
    var end = ui.scroller.scrollHeight - ui.scroller.clientHeight;
    var top = start ? start.offsetTop - 8 : end;
    ui.scroller.scrollTop = Math.max(0, Math.min(end, top));
  }

  // ---------------------------------------------------------------- rendering

  /** A message element; `language` is the message's, for its lang attribute and its labels. */
  function renderEntry(entry, language) {
    var texts = labels(language);
    var item = el("div", "cc-msg " + (entry.from === "user" ? "cc-msg-user" : "cc-msg-bot"));
    item.dataset.id = entry.id;
    item.setAttribute("lang", language);
    // "You said:" keeps the language it was written in, even if the message's lang changes later.
    var said = el("span", "cc-visually-hidden", entry.from === "user" ? texts.you : texts.assistant);
    said.setAttribute("lang", language);
    item.appendChild(said);
    if (entry.text) {
      var bubble = el("div", "cc-bubble");
      appendRichText(bubble, entry.text, language);
      item.appendChild(bubble);
    }
    (entry.links || []).forEach(function (link) {
      var href = safeHttpUrl(link.url);
      if (!href) return;
      var wrap = el("div", "cc-bubble cc-attachment");
      wrap.appendChild(externalLink(href, link.kind === "image" ? texts.image : texts.attachment));
      item.appendChild(wrap);
    });
    if (entry.buttons && entry.buttons.length) {
      var choices = el("div", "cc-choices");
      entry.buttons.forEach(function (choice) {
        if (choice.url) {
          var href = safeHttpUrl(choice.url);
          if (href) choices.appendChild(externalLink(href, choice.title));
          return;
        }
        var button = el("button", "cc-choice", choice.title);
        button.type = "button";
        button.dataset.payload = choice.payload;
        choices.appendChild(button);
      });
      item.appendChild(choices);
    }
    return item;
  }

  /** The site's opening message in `language`, or in English when it has none in Spanish. */
  function openingEntry(language) {
    var messages = config.openingMessage;
    if (!messages[language]) language = "en";
    if (!messages[language]) return null;
    return { id: "opening-" + language, from: "bot", text: messages[language], lang: language };
  }

  /** Brings the log in line with `entries`, adding only new messages (so screen readers
   * announce only those), disables the choices of every answered message, and puts the
   * widget's texts and each message's lang attribute in their language. */
  function render(entries) {
    var found = languages(entries);
    applyLanguage(found.language);
    var all = entries.slice();
    var each = found.each.slice();
    var opening = openingEntry(found.language);
    if (opening) {
      all.unshift(opening);
      each.unshift(opening.lang);
    }
    var existing = {};
    Array.prototype.forEach.call(ui.log.children, function (node) {
      existing[node.dataset.id] = node;
    });
    var wanted = {};
    all.forEach(function (entry) {
      wanted[entry.id] = true;
    });
    Object.keys(existing).forEach(function (id) {
      if (!wanted[id]) ui.log.removeChild(existing[id]);
    });
    var added = false;
    var answered = false; // walking backwards: has the visitor replied after this message?
    var nodes = all.map(function (entry, index) {
      var node = existing[entry.id];
      if (!node) {
        node = renderEntry(entry, each[index]);
        added = true;
      } else if (node.getAttribute("lang") !== each[index]) {
        node.setAttribute("lang", each[index]); // the visitor's message, once the reply tells
      }
      return node;
    });
    nodes.forEach(function (node, index) {
      if (ui.log.children[index] !== node) ui.log.insertBefore(node, ui.log.children[index] || null);
    });
    for (var i = all.length - 1; i >= 0; i--) {
      if (all[i].from === "user") answered = true;
      else {
        var buttons = nodes[i].querySelectorAll("button.cc-choice");
        for (var b = 0; b < buttons.length; b++) buttons[b].disabled = answered;
      }
    }
    updateTyping(entries);
    if (added) scrollToTurn();
  }

  var typingTimer = null;

  /** Typing indicator: shown while the latest message is the visitor's and younger than 15 s. */
  function updateTyping(entries) {
    clearTimeout(typingTimer);
    var last = entries[entries.length - 1];
    var waited = last ? Date.now() - (last.t || 0) : Infinity;
    var show = !!last && last.from === "user" && waited < TYPING_TIMEOUT_MS && !connectionLost;
    ui.typing.hidden = !show;
    if (show) {
      typingTimer = setTimeout(function () {
        updateTyping(loadTranscript());
      }, TYPING_TIMEOUT_MS - waited + 50);
    }
  }

  // ---------------------------------------------------------------- bot messages

  function textOf(value) {
    return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
  }

  function choicesOf(list) {
    if (!Array.isArray(list)) return [];
    return list
      .filter(function (choice) {
        return choice && (choice.title || choice.payload);
      })
      .map(function (choice) {
        var result = { title: textOf(choice.title || choice.payload), payload: textOf(choice.payload || choice.title) };
        if ((choice.type === "web_url" || choice.content_type === "web_url") && choice.url) result.url = textOf(choice.url);
        return result;
      });
  }

  /** Turns a bot_uttered payload from Rasa's socketio channel into a transcript entry. */
  function entryFromBot(message) {
    if (typeof message === "string") message = { text: message };
    if (!message || typeof message !== "object") return null;
    var entry = { id: randomId(), from: "bot", t: Date.now(), text: textOf(message.text), links: [] };
    if (supportedLanguage(message.lang)) entry.lang = supportedLanguage(message.lang); // if the server says
    entry.buttons = choicesOf(message.quick_replies).concat(choicesOf(message.buttons));
    if (message.image) entry.links.push({ kind: "image", url: textOf(message.image) });
    var attachment = message.attachment;
    if (typeof attachment === "string") entry.links.push({ kind: "attachment", url: attachment });
    else if (attachment && typeof attachment === "object") {
      var payload = attachment.payload || {};
      if (payload.template_type === "generic") {
        var elements = Array.isArray(payload.elements) ? payload.elements : [payload.elements];
        elements.forEach(function (item) {
          if (!item) return;
          var parts = [textOf(item.title), textOf(item.subtitle)].filter(Boolean);
          if (parts.length) entry.text = (entry.text ? entry.text + "\n" : "") + parts.join("\n");
          if (item.image_url) entry.links.push({ kind: "image", url: textOf(item.image_url) });
          entry.buttons = entry.buttons.concat(choicesOf(item.buttons));
        });
      } else {
        var url = payload.src || payload.url || attachment.src || attachment.url;
        if (url) entry.links.push({ kind: attachment.type === "image" ? "image" : "attachment", url: textOf(url) });
      }
    }
    if (!entry.text && !entry.links.length && !entry.buttons.length) return null;
    return entry;
  }

  // Every tab of the conversation receives the assistant's messages, but each must be stored
  // once. One connected tab, the "writer" (chosen with the Web Locks API; without it, a visible
  // tab), stores them at once; the others show them through the storage event, and store a
  // message themselves only if it is still missing a few seconds later (a frozen writer tab).
  var isWriter = false;
  var lockRequest = null;
  var hasLocks = !!(navigator.locks && navigator.locks.request);

  function requestWriterLock() {
    if (!hasLocks || lockRequest) return;
    var request = {};
    request.held = new Promise(function (resolve) {
      request.release = resolve;
    });
    lockRequest = request;
    navigator.locks
      .request(LOCK_NAME, function () {
        if (lockRequest !== request) return null; // given up while waiting
        isWriter = true;
        return request.held; // kept until giveUpWriterLock() or the tab closes
      })
      .catch(function () {
        /* no lock: this tab stores late, if at all */
      });
  }

  function giveUpWriterLock() {
    isWriter = false;
    if (lockRequest) lockRequest.release();
    lockRequest = null;
  }

  function fingerprint(entry) {
    return JSON.stringify([entry.text, entry.buttons, entry.links]);
  }

  function isStored(entry) {
    var print = fingerprint(entry);
    return loadTranscript().some(function (other) {
      return other.from === "bot" && Math.abs(other.t - entry.t) < 5000 && fingerprint(other) === print;
    });
  }

  function onBotMessage(message) {
    var entry = entryFromBot(message);
    if (!entry) return;
    if (ui.panel.hidden) setUnread(true);
    var storeNow = hasLocks ? isWriter : document.visibilityState === "visible";
    if (storeNow) {
      render(appendEntry(entry));
      return;
    }
    setTimeout(function () {
      if (!isStored(entry)) render(appendEntry(entry));
    }, 2000 + Math.random() * 1000);
  }

  // ---------------------------------------------------------------- connection

  var socket = null;
  var ready = false; // session confirmed
  var confirmedSession = null;
  var outbox = [];

  var connectionLost = false;

  function showConnectionLost(lost) {
    if (lost === connectionLost) return;
    connectionLost = lost;
    ui.status.textContent = lost ? labels(widgetLanguage).connectionLost : "";
    ui.status.classList.toggle("cc-status-visible", lost);
    updateTyping(loadTranscript());
  }

  function connect() {
    if (socket) return;
    if (typeof window.io !== "function") {
      showConnectionLost(true);
      if (window.console) console.error("clinic-chat: load socket.io.min.js before clinic-chat.js");
      return;
    }
    socket = window.io(config.serverUrl || undefined, {
      path: config.socketPath,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      withCredentials: false,
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: sessionId() });
    });
    socket.on("session_confirm", function (confirmed) {
      var id = typeof confirmed === "string" ? confirmed : confirmed && confirmed.session_id;
      if (id && id !== storageGet(SESSION_KEY) && /^[A-Za-z0-9_-]{8,128}$/.test(id)) storageSet(SESSION_KEY, id);
      confirmedSession = sessionId();
      ready = true;
      showConnectionLost(false);
      requestWriterLock();
      flush();
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", function () {
      ready = false;
      giveUpWriterLock();
      showConnectionLost(true);
    });
    socket.on("connect_error", function () {
      showConnectionLost(true);
    });
  }

  function flush() {
    if (ready && outbox.length && sessionId() !== confirmedSession) {
      // The conversation was forgotten (historyHours) while this page stayed open: join the new one first.
      ready = false;
      socket.emit("session_request", { session_id: sessionId() });
      return;
    }
    while (ready && outbox.length) {
      socket.emit("user_uttered", { message: outbox.shift(), session_id: sessionId(), metadata: messageMetadata() });
    }
  }

  /** Sent with every message (Rasa keeps it on the message): the page's language, which decides the
   * conversation's first language when the visitor's first message does not ("hi" or a button on a
   * Spanish page: Spanish; actions/language.py), and the widget's current language, which the
   * server's refusals (too fast, too long) are written in. */
  function messageMetadata() {
    return { page_language: config.lang, chat_language: widgetLanguage || config.lang };
  }

  function sendMessage(payload, shownText) {
    if (!payload) return;
    var entry = { id: randomId(), from: "user", t: Date.now(), text: String(shownText) };
    var choice = chosenLanguage(payload); // the English / Español button: the widget follows at once
    if (choice) entry.choice = choice;
    render(appendEntry(entry));
    outbox.push(String(payload).slice(0, MAX_MESSAGE_LENGTH));
    connect();
    flush();
  }

  // ---------------------------------------------------------------- start

  function start() {
    buildUi();
    var entries = loadTranscript();
    render(entries);
    // Stay connected when a conversation exists, so that replies and staff messages arrive.
    if (entries.length) connect();
    window.addEventListener("storage", function (event) {
      if (event.key === null || event.key === TRANSCRIPT_KEY) {
        var latest = loadTranscript();
        var before = ui.log.children.length;
        render(latest);
        if (latest.length) connect();
        var last = latest[latest.length - 1];
        if (ui.panel.hidden && ui.log.children.length > before && last.from === "bot") setUnread(true);
      }
    });
    if (config.startOpen) setOpen(true, false); // do not take the focus away from the page
  }

  window.ClinicChat = {
    started: true,
    open: function () {
      setOpen(true);
    },
    close: function () {
      setOpen(false);
    },
    /** "en" or "es" when a text is clearly in that language, else null (how bot messages are read). */
    languageOf: languageOf,
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
