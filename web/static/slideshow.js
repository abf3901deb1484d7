// mediasrv: the viewer's slideshow. s (or the Slideshow button) starts it: each file of
// the viewer's list (its tag, in the viewer's order: by name, or with ?sort=taken newest
// first; or the search it was opened from) in turn, every N seconds (the chosen
// interval, remembered), a video or song until it ends. The next file is fetched and
// its picture loaded while the current one shows. Any key, or a click, pauses: the
// viewer then shows the file the slideshow had reached, and s goes on.
//
// It steps the way the viewer's → does: each file's viewer page says which file comes
// next (#next, whose URL keeps the order). That page is asked for again just before
// moving on, so a rescan that removed the next file meanwhile is noticed and the file
// after it is shown instead.
(() => {
  "use strict";

  const viewer = document.getElementById("viewer");
  const button = document.getElementById("slideshow");
  const interval = document.getElementById("slide-interval");
  if (!viewer) return;

  const KEY = "mediasrv.slideInterval";
  const RETRIES = 10; // a removed next file: wait this many seconds for the rescan that drops it
  let show = null; // the running slideshow, or null

  if (interval) {
    const saved = localStorage.getItem(KEY);
    if (saved && Array.from(interval.options).some((o) => o.value === saved)) interval.value = saved;
    interval.addEventListener("change", () => localStorage.setItem(KEY, interval.value));
  }
  const seconds = () => Number(interval ? interval.value : localStorage.getItem(KEY) || 5);

  // -- what a viewer page says about its file --------------------------------

  function slideOf(doc, url) {
    const media = doc.getElementById("media");
    const next = doc.getElementById("next");
    const poster = doc.querySelector(".player img");
    const text = (id) => (doc.getElementById(id) || { textContent: "" }).textContent.trim();
    const absolute = (value) => (value ? new URL(value, url).href : null);
    return {
      url,
      kind: media ? media.tagName.toLowerCase() : "other", // img, video, audio, other
      src: absolute(media ? media.getAttribute("src") : null),
      poster: absolute(poster ? poster.getAttribute("src") : null),
      name: text("name"),
      position: text("position"),
      next: next && next.getAttribute("href") ? absolute(next.getAttribute("href")) : null,
    };
  }

  // The slide at ``url`` as the server sees it now; null if the file is gone.
  async function fetchSlide(url) {
    const response = await fetch(url, { headers: { Accept: "text/html" } });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    return slideOf(doc, response.url || url);
  }

  function preload(slide) {
    if (slide && slide.kind === "img" && slide.src) {
      const img = new Image();
      img.src = slide.src;
      return img; // kept by the caller until it is shown
    }
    return null;
  }

  // -- the overlay -------------------------------------------------------------

  function overlay() {
    const root = document.createElement("div");
    root.id = "show";
    root.className = "show";
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-label", "Slideshow");
    root.innerHTML = '<div class="show-stage" id="show-stage"></div>' +
      '<p class="show-caption"><span id="show-name"></span> <span id="show-pos"></span>' +
      ' <span class="show-hint" id="show-state">any key pauses</span></p>';
    root.addEventListener("click", () => pause());
    document.body.append(root);
    return root;
  }

  function render(slide) {
    const stage = document.getElementById("show-stage");
    const shown = [];
    let element;
    if (slide.kind === "video" || slide.kind === "audio") {
      element = document.createElement(slide.kind);
      element.src = slide.src;
      element.playsInline = true;
      if (slide.kind === "video" && slide.poster) element.poster = slide.poster;
      if (slide.kind === "audio" && slide.poster) { // a song: its icon, while it plays
        const icon = document.createElement("img");
        icon.src = slide.poster;
        icon.alt = "";
        icon.className = "show-icon";
        shown.push(icon);
      }
    } else {
      element = document.createElement("img");
      element.src = slide.kind === "img" ? slide.src : slide.poster;
      element.alt = slide.name;
    }
    element.id = "show-media";
    stage.replaceChildren(...shown, element);
    document.getElementById("show-name").textContent = slide.name;
    document.getElementById("show-pos").textContent = slide.position;
    return element;
  }

  // -- running ------------------------------------------------------------------

  function start() {
    if (show) return;
    show = { root: overlay(), slide: slideOf(document, window.location.href), timer: null,
      ahead: null, run: {} };
    document.documentElement.classList.add("showing");
    display(show.slide);
  }

  function display(slide) {
    const run = show.run;
    show.slide = slide;
    const element = render(slide);
    show.root.dataset.kind = slide.kind;
    if (slide.kind === "video" || slide.kind === "audio") {
      element.addEventListener("ended", () => advance(run, "ended"));
      element.addEventListener("error", () => later(run));
      element.play().catch(() => { // no sound allowed without a click here: play muted
        element.muted = true;
        element.play().catch(() => later(run));
      });
    } else {
      later(run);
    }
    show.ahead = null;
    if (slide.next) { // ahead of time: the next page, and its picture into the cache
      fetchSlide(slide.next).then((next) => {
        if (show && run === show.run) show.ahead = preload(next);
      }).catch(() => {});
    }
  }

  function later(run) {
    if (!show || run !== show.run) return; // paused, or moved on, meanwhile
    clearTimeout(show.timer);
    show.timer = setTimeout(() => advance(run, "timer"), seconds() * 1000);
  }

  async function advance(run, why) {
    if (!show || run !== show.run) return;
    show.run = {}; // this step is taken: a late timer or "ended" of the same slide is ignored
    const mine = show.run;
    clearTimeout(show.timer);
    const { next, stop, gone } = await following(show.slide, mine);
    if (!show || mine !== show.run) return;
    if (!next) {
      end(stop, gone);
      return;
    }
    if (next.kind === "img" && next.src) await ready(next.src); // no half-drawn picture
    if (!show || mine !== show.run) return;
    show.root.dataset.advancedBy = why;
    display(next);
  }

  // Once the picture at ``src`` can be drawn (fetched ahead, it usually is already).
  async function ready(src) {
    const img = new Image();
    img.src = src;
    try {
      await img.decode();
    } catch (error) {
      // a picture the browser cannot draw: shown as it is, like the viewer does
    }
  }

  const sleep = (ms) => new Promise((done) => { setTimeout(done, ms); });

  // The file after ``slide`` as the server sees it now: the one its page named may be gone.
  async function following(slide, run) {
    for (let attempt = 0; attempt <= RETRIES; attempt += 1) {
      if (attempt > 1) await sleep(1000);
      if (!show || run !== show.run) return {};
      try {
        // First what the page said; then what the file's page says now, after a rescan.
        const here = attempt === 0 ? slide : await fetchSlide(slide.url);
        if (!here) return { stop: "its file was removed from the library", gone: true };
        if (!here.next) return { stop: "end of the slideshow" };
        const next = await fetchSlide(here.next);
        if (next) return { next };
        // Gone from disk but still indexed: the rescan that drops it is on its way.
      } catch (error) {
        // the server is busy or restarting: try again
      }
    }
    return { stop: "the next file could not be reached" };
  }

  // The slideshow stops by itself: at the end of the list (the viewer shows the last
  // file), or where it cannot go on (the viewer stays and says why).
  function end(text, gone) {
    if (gone) show.slide.url = window.location.href;
    pause();
    if (text) tell(`Slideshow stopped: ${text}.`);
  }

  function tell(text) {
    const notice = document.getElementById("notice");
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = false;
  }

  // Stop where the slideshow is: the viewer shows that file (s goes on from there).
  function pause() {
    if (!show) return;
    const { root, slide, timer } = show;
    clearTimeout(timer);
    show = null;
    root.remove();
    document.documentElement.classList.remove("showing");
    if (slide.url !== window.location.href) window.location.assign(slide.url);
  }

  // Capture: while the slideshow runs, a key pauses it and does nothing else.
  window.addEventListener("keydown", (event) => {
    if (show) {
      event.preventDefault();
      event.stopImmediatePropagation();
      pause();
      return;
    }
    if (event.key !== "s" || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) {
      return;
    }
    event.preventDefault();
    start();
  }, true);

  if (button) button.addEventListener("click", start);
})();
