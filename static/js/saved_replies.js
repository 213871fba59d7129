/* Saved replies in the review box, a progressive enhancement of
   templates/submissions/_saved_reply_menu.html (loaded as a file: the CSP allows no inline
   script).

   - "Insert" puts the chosen reply at the cursor instead of posting the page.
   - Typing "/" at the start of a line opens a picker: a search box (a combobox) over a
     list of the lab's replies. Type to filter, Up/Down to move, Enter to insert in place of
     the "/", Escape to close and keep the "/". Clicking a reply inserts it too.
   Each insert is counted once by a POST to the menu's data-use-url (Accept: JSON), the
   same count the no-JavaScript Insert button makes. Opening the picker counts nothing. */
(function () {
  "use strict";

  var pickerCount = 0;

  function csrfToken(form) {
    var field = form && form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function countUse(menu, form, replyId) {
    var data = new FormData();
    data.append("saved_reply", replyId);
    data.append("csrfmiddlewaretoken", csrfToken(form));
    return fetch(menu.dataset.useUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken(form) },
    }).catch(function () {
      /* The text is in the box either way; a lost count is not worth an error. */
    });
  }

  function replies(select) {
    return Array.prototype.map.call(select.options, function (option) {
      return {
        id: option.value,
        title: option.textContent,
        body: option.dataset.body || "",
        group: option.dataset.group || "",
      };
    });
  }

  /* Put `text` into the box in place of [start, end), on lines of its own. */
  function insertText(box, text, start, end) {
    var before = box.value.slice(0, start);
    var after = box.value.slice(end);
    var lead = before === "" || /\n$/.test(before) ? "" : "\n";
    var tail = after === "" || /^\n/.test(after) ? "" : "\n";
    box.value = before + lead + text + tail + after;
    var caret = (before + lead + text).length;
    box.focus();
    box.setSelectionRange(caret, caret);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function setUp(menu) {
    var box = document.getElementById(menu.dataset.target);
    var select = menu.querySelector("select[name=saved_reply]");
    var button = menu.querySelector("[data-saved-reply-insert]");
    var status = menu.querySelector("[data-saved-reply-status]");
    var form = box && box.form;
    if (!box || !select || !button || menu.dataset.ready) return;
    menu.dataset.ready = "1";
    var hint = menu.querySelector("[data-saved-reply-hint]");
    if (hint) hint.hidden = false;
    var all = replies(select);

    function announce(message) {
      if (status) status.textContent = message;
    }

    function use(reply, start, end) {
      insertText(box, reply.body, start, end);
      announce("Inserted “" + reply.title + "”.");
      countUse(menu, form, reply.id);
    }

    button.addEventListener("click", function (event) {
      event.preventDefault();
      var reply = all[select.selectedIndex];
      if (!reply) return;
      use(reply, box.selectionStart, box.selectionEnd);
    });

    /* --- the "/" picker --- */
    pickerCount += 1;
    var ids = "saved-reply-picker-" + pickerCount;
    var picker = document.createElement("div");
    picker.className = "saved-reply-picker";
    picker.hidden = true;
    picker.setAttribute("role", "dialog");
    picker.setAttribute("aria-label", "Insert a saved reply");
    var label = document.createElement("label");
    label.setAttribute("for", ids + "-search");
    label.textContent = "Find a saved reply";
    var search = document.createElement("input");
    search.type = "search";
    search.id = ids + "-search";
    search.autocomplete = "off";
    search.placeholder = "Type to filter";
    search.setAttribute("role", "combobox");
    search.setAttribute("aria-expanded", "true");
    search.setAttribute("aria-autocomplete", "list");
    search.setAttribute("aria-controls", ids + "-list");
    var help = document.createElement("p");
    help.className = "help";
    help.id = ids + "-help";
    help.textContent = "Up and Down to choose, Enter to insert, Escape to close.";
    search.setAttribute("aria-describedby", help.id);
    var list = document.createElement("ul");
    list.id = ids + "-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Saved replies");
    var empty = document.createElement("p");
    empty.className = "saved-reply-picker-empty muted";
    empty.hidden = true;
    picker.append(label, search, help, list, empty);
    box.insertAdjacentElement("afterend", picker);

    var slashAt = -1;
    var shown = [];
    var active = 0;

    function render() {
      var query = search.value.trim().toLowerCase();
      shown = all.filter(function (reply) {
        return !query || (reply.title + " " + reply.group + " " + reply.body).toLowerCase().indexOf(query) !== -1;
      });
      if (active >= shown.length) active = Math.max(shown.length - 1, 0);
      list.textContent = "";
      shown.forEach(function (reply, index) {
        var item = document.createElement("li");
        item.id = ids + "-option-" + index;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", index === active ? "true" : "false");
        var title = document.createElement("span");
        title.className = "saved-reply-option-title";
        title.textContent = reply.title;
        var group = document.createElement("span");
        group.className = "saved-reply-option-group small muted";
        group.textContent = reply.group;
        item.append(title, group);
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); /* keep focus until the insert moves it */
          choose(index);
        });
        list.appendChild(item);
      });
      empty.hidden = shown.length > 0;
      empty.textContent = shown.length ? "" : "No saved reply matches “" + search.value.trim() + "”.";
      if (shown.length) {
        search.setAttribute("aria-activedescendant", ids + "-option-" + active);
        var current = list.children[active];
        if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
      } else {
        search.removeAttribute("aria-activedescendant");
      }
    }

    function open(position) {
      slashAt = position;
      search.value = "";
      active = 0;
      picker.hidden = false;
      render();
      search.focus();
    }

    /* Close, keeping the "/" as typed; `refocus` puts the cursor back after it. */
    function close(refocus) {
      if (picker.hidden) return;
      picker.hidden = true;
      var caret = slashAt + 1;
      slashAt = -1;
      if (refocus) {
        box.focus();
        box.setSelectionRange(caret, caret);
      }
    }

    function choose(index) {
      var reply = shown[index];
      if (!reply) return;
      var start = slashAt;
      picker.hidden = true;
      slashAt = -1;
      /* The "/" that opened the picker gives its place to the reply. */
      var end = box.value.charAt(start) === "/" ? start + 1 : start;
      use(reply, start, end);
    }

    box.addEventListener("input", function (event) {
      if (event.inputType !== "insertText" || event.data !== "/") return;
      var caret = box.selectionStart;
      var slash = caret - 1;
      if (box.value.charAt(slash) !== "/") return;
      if (slash === 0 || box.value.charAt(slash - 1) === "\n") open(slash);
    });

    search.addEventListener("input", function () {
      active = 0;
      render();
    });

    search.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (shown.length) active = (active + 1) % shown.length;
        render();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (shown.length) active = (active - 1 + shown.length) % shown.length;
        render();
      } else if (event.key === "Enter") {
        event.preventDefault(); /* never submit the review from here */
        choose(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close(true);
      } else if (event.key === "Tab") {
        close(true);
        event.preventDefault();
      }
    });

    search.addEventListener("blur", function () {
      window.setTimeout(function () {
        if (!picker.contains(document.activeElement)) close(false);
      }, 0);
    });
  }

  function setUpAll() {
    document.querySelectorAll("[data-saved-replies]").forEach(setUp);
    if (window.htmx) {
      document.querySelectorAll("[data-hide-with-htmx]").forEach(function (element) {
        element.hidden = true;
      });
    }
  }

  document.addEventListener("DOMContentLoaded", setUpAll);
  document.addEventListener("htmx:afterSettle", setUpAll);
})();
