// Search as you type: the first few matches under the search box.
// Requests wait for a pause in typing (debounced), and an answer that a newer
// keystroke has overtaken is dropped (the older request is aborted), so the
// box never lags behind the typing and never shows stale results.
(function () {
  "use strict";
  const form = document.querySelector("form.search");
  const input = form && form.querySelector("input[name=q]");
  if (!input) return;
  const PAUSE_MS = 200;
  const list = document.createElement("ul");
  list.className = "suggest";
  list.id = "suggest";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  form.appendChild(list);
  input.setAttribute("aria-controls", "suggest");
  let timer = null;
  let pending = null;
  let asked = 0;

  const FOLDER_CHARS = 34;

  function hide() { list.hidden = true; list.replaceChildren(); }

  // "Trips/2024/Summer/Beach" -> "Trips/…/Summer/Beach": the start and, longer, the end.
  function elideMiddle(text, most) {
    const chars = Array.from(text);
    if (chars.length <= most) return text;
    const head = Math.floor((most - 1) / 3);
    return chars.slice(0, head).join("") + "…" + chars.slice(chars.length - (most - 1 - head)).join("");
  }

  async function ask(text, number) {
    if (pending) pending.abort();
    pending = new AbortController();
    let body;
    try {
      const resp = await fetch("/api/search?limit=8&q=" + encodeURIComponent(text),
                               {signal: pending.signal, headers: {Accept: "application/json"}});
      if (!resp.ok) return;
      body = await resp.json();
    } catch (err) {
      return;  // aborted by a newer keystroke, or the server is away: nothing to show
    }
    if (number !== asked) return;  // overtaken while it was on its way
    list.replaceChildren();
    for (const file of body.files) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = "/view/All/" + file.url.replace(/^\/media\//, "") +
                  "?q=" + encodeURIComponent(text);
      // The name first, then its folder with its middle left out: rows of files with one
      // name (IMG_0001.jpg) differ where their paths do, at the end.
      const at = file.display_path.lastIndexOf("/");
      const name = document.createElement("span");
      name.className = "sg-name";
      name.textContent = file.display_path.slice(at + 1);
      link.appendChild(name);
      if (at > 0) {
        const folder = document.createElement("span");
        folder.className = "sg-folder";
        folder.textContent = elideMiddle(file.display_path.slice(0, at), FOLDER_CHARS);
        link.appendChild(folder);
      }
      link.title = file.display_path;
      // As the pages' tiles say it (render.GUESS_NOTE): a name in it is not UTF-8.
      if (file.name_guessed) link.title += " — name not UTF-8, shown as Windows-1252 (a best guess)";
      item.appendChild(link);
      list.appendChild(item);
    }
    list.hidden = body.files.length === 0;
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    const text = input.value.trim();
    const number = ++asked;
    if (text.length < 2) { if (pending) pending.abort(); hide(); return; }
    timer = setTimeout(function () { ask(text, number); }, PAUSE_MS);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") hide();
  });
  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) hide();
  });
})();
