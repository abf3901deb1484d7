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

  function hide() { list.hidden = true; list.replaceChildren(); }

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
      link.textContent = file.display_path;
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
