// mediasrv: the viewer. A picture fills the stage, fitted and never upscaled; the wheel, a
// double click or double tap, a pinch and + − zoom it (0 fits it again), dragging pans it,
// and past the preview's own pixels the file itself is loaded. f: fullscreen, i: the details
// panel. The toolbar steps aside after 2 s without pointer movement; on a phone a tap
// toggles it. A video starts by itself (muted when the browser allows no sound yet).
// Swipes step, as ← → do. Plain JavaScript, no build step: the page works without it.
(() => {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const viewer = $("viewer");
  const stage = $("stage");
  if (!viewer || !stage) return;
  const body = document.body;
  const media = $("media");
  const picture = media && media.tagName === "IMG" ? media : null;

  const IDLE_MS = 2000; // the toolbar steps aside after this long without pointer movement
  const STEP = 1.25; // one + or − press, or a wheel notch of 110 px
  const MAX = 8; // the largest zoom: 8 screen pixels per pixel of the file
  const TAP_MS = 300; // two taps within this are a double tap
  const SWIPE = 60; // px a finger goes sideways to step

  function follow(id) {
    const link = $(id);
    if (link && link.href) window.location.href = link.href;
  }

  const typing = (target) => target.closest && target.closest("input, textarea, select, [contenteditable]");

  // -- the toolbar: shown while the pointer moves, or while it is used -------------------

  const bar = document.querySelector(".top");
  let idle = null;

  function inUse() {
    return bar.matches(":hover") || bar.querySelector(":focus-visible") !== null;
  }
  function bare(on) {
    clearTimeout(idle);
    body.classList.toggle("bare", on && !inUse());
  }
  function woke() {
    bare(false);
    idle = setTimeout(() => bare(true), IDLE_MS);
  }
  document.addEventListener("pointermove", (e) => { if (e.pointerType !== "touch") woke(); });
  bar.addEventListener("focusin", () => bare(false));
  woke();

  // -- the details panel ----------------------------------------------------------------

  const panel = $("details");
  const info = $("info");
  const DETAILS = "mediasrv.details"; // the panel stays open from file to file

  function details(on, remember = true) {
    panel.hidden = !on;
    info.setAttribute("aria-pressed", String(on));
    if (remember) localStorage.setItem(DETAILS, on ? "open" : "");
  }
  if (panel && info) {
    info.addEventListener("click", () => details(panel.hidden));
    // Not on a phone, where the panel covers most of the picture.
    if (localStorage.getItem(DETAILS) === "open" && window.matchMedia("(min-width: 641px)").matches) {
      details(true, false);
    }
  }

  // -- fullscreen -------------------------------------------------------------------------

  const screenButton = $("fullscreen");
  function fullscreen() {
    if (!document.fullscreenEnabled) return;
    if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
    else document.documentElement.requestFullscreen().catch(() => {}); // refused: stay as is
  }
  if (screenButton && document.fullscreenEnabled) {
    screenButton.hidden = false;
    screenButton.addEventListener("click", fullscreen);
    document.addEventListener("fullscreenchange", () => {
      screenButton.setAttribute("aria-pressed", String(document.fullscreenElement !== null));
    });
  }

  // -- a video starts by itself -------------------------------------------------------------

  if (media && media.tagName === "VIDEO") {
    media.play().catch(() => { // no sound allowed before a click on this site: play muted
      media.muted = true;
      return media.play();
    }).catch(() => {}); // not even muted: its own ▶ is there
    // The slideshow plays its own copy: this one waits.
    new MutationObserver(() => {
      if (document.documentElement.classList.contains("showing")) media.pause();
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  }

  // -- zoom and pan -------------------------------------------------------------------------

  // ``s``: screen (CSS) pixels per pixel of the file; ``fit`` the largest ``s`` that shows it
  // whole, at most 1; (x, y): where the picture's top left corner is on the stage.
  const view = { s: 1, fit: 1, x: 0, y: 0, width: 0, height: 0 };
  let ready = false;
  let sharpening = false;

  function zoomed() {
    return ready && view.s > view.fit * 1.001;
  }

  function clamp() {
    const w = view.width * view.s, h = view.height * view.s;
    const sw = stage.clientWidth, sh = stage.clientHeight;
    view.x = w <= sw ? (sw - w) / 2 : Math.min(0, Math.max(sw - w, view.x));
    view.y = h <= sh ? (sh - h) / 2 : Math.min(0, Math.max(sh - h, view.y));
  }

  function draw() {
    clamp();
    picture.style.width = `${view.width * view.s}px`;
    picture.style.height = `${view.height * view.s}px`;
    picture.style.transform = `translate(${view.x}px, ${view.y}px)`;
    stage.classList.toggle("zoomed", zoomed());
    stage.dataset.zoom = view.s.toFixed(4);
    sharpen();
  }

  function refit() {
    const was = zoomed();
    view.fit = Math.min(1, stage.clientWidth / view.width, stage.clientHeight / view.height);
    if (!was || view.s < view.fit) view.s = view.fit;
    draw();
  }

  // Zoom to ``s``, keeping the point (px, py) of the stage where it is (the centre by default).
  function zoomTo(s, px = stage.clientWidth / 2, py = stage.clientHeight / 2) {
    if (!ready) return;
    const next = Math.min(MAX, Math.max(view.fit, s));
    const u = (px - view.x) / view.s, v = (py - view.y) / view.s;
    view.x = px - u * next;
    view.y = py - v * next;
    view.s = next;
    draw();
  }

  function toggleZoom(px, py) {
    if (zoomed()) zoomTo(view.fit, px, py);
    else zoomTo(Math.max(1, view.fit * 2), px, py);
  }

  // Past the preview's own pixels, the file itself (when the browser can show it).
  function sharpen() {
    const full = picture.dataset.full;
    if (!full || sharpening || !picture.naturalWidth) return;
    const needed = view.width * view.s * (window.devicePixelRatio || 1);
    if (needed <= picture.naturalWidth) return;
    sharpening = true;
    const original = new Image();
    original.onload = () => { picture.src = full; picture.dataset.sharp = "1"; };
    original.src = full;
  }

  function start() {
    if (ready || !picture.naturalWidth) return;
    const natural = picture.naturalHeight / picture.naturalWidth;
    view.width = Number(picture.dataset.width) || picture.naturalWidth;
    view.height = Number(picture.dataset.height) || picture.naturalHeight;
    // The index's size is of the file; trust the shape of what the browser shows.
    if (Math.abs(view.height / view.width - natural) > 0.02) view.height = view.width * natural;
    ready = true;
    stage.classList.add("zoomable");
    refit();
    new ResizeObserver(() => refit()).observe(stage);
  }

  if (picture) {
    if (picture.complete) start();
    else picture.addEventListener("load", start, { once: true });
  }

  function onStage(event) {
    const box = stage.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  }

  stage.addEventListener("wheel", (event) => {
    if (!ready) return; // (a touchpad's pinch comes as a wheel with ctrlKey: zoomed here too)
    event.preventDefault();
    const lines = event.deltaMode === 1 ? 40 : event.deltaMode === 2 ? 800 : 1;
    const { x, y } = onStage(event);
    zoomTo(view.s * STEP ** (-event.deltaY * lines / 110), x, y);
  }, { passive: false });

  stage.addEventListener("dblclick", (event) => {
    // (its target is the stage, which captured the pointer)
    if (!ready || event.target.closest("a, button") || Date.now() - lastTouch < 1000) return;
    const { x, y } = onStage(event);
    toggleZoom(x, y);
  });

  // -- fingers and the mouse: pan, pinch, swipe, tap -----------------------------------------

  const down = new Map(); // pointerId -> its point on the stage
  let gesture = null;
  let lastTouch = 0; // when a finger last touched: a dblclick soon after is its double tap
  let tap = null; // the first tap of a possible double tap: {at, x, y, timer}

  function distance(a, b) {
    return Math.hypot(a.x - b.x, a.y - b.y);
  }

  function begin() {
    const [a, b] = Array.from(down.values());
    if (b) {
      gesture = { pinch: true, d: distance(a, b) || 1, s: view.s, x: view.x, y: view.y,
        mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } };
    } else if (a) {
      gesture = { pinch: false, from: a, x: view.x, y: view.y, moved: gesture !== null, type: gesture && gesture.type };
    } else {
      gesture = null;
    }
  }

  stage.addEventListener("pointerdown", (event) => {
    if (event.target.closest("a, button, video, audio, select")) return;
    if (event.pointerType === "mouse" && event.button !== 0) return;
    if (event.pointerType === "touch") lastTouch = Date.now();
    if (picture && event.target === picture) event.preventDefault(); // no drag image, no selection
    down.set(event.pointerId, onStage(event));
    stage.setPointerCapture(event.pointerId);
    const fresh = down.size === 1;
    begin();
    if (fresh) gesture.type = event.pointerType;
  });

  stage.addEventListener("pointermove", (event) => {
    if (!down.has(event.pointerId) || !gesture) return;
    const point = onStage(event);
    down.set(event.pointerId, point);
    if (gesture.pinch && down.size === 2 && ready) {
      const [a, b] = Array.from(down.values());
      const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      const s = Math.min(MAX, Math.max(view.fit, gesture.s * distance(a, b) / gesture.d));
      const u = (gesture.mid.x - gesture.x) / gesture.s, v = (gesture.mid.y - gesture.y) / gesture.s;
      Object.assign(view, { s, x: mid.x - u * s, y: mid.y - v * s });
      draw();
      return;
    }
    if (gesture.pinch) return;
    const dx = point.x - gesture.from.x, dy = point.y - gesture.from.y;
    if (Math.hypot(dx, dy) > 8) gesture.moved = true;
    if (zoomed() && gesture.moved) {
      stage.classList.add("panning");
      view.x = gesture.x + dx;
      view.y = gesture.y + dy;
      draw();
    }
  });

  function lift(event) {
    if (!down.has(event.pointerId)) return;
    const point = down.get(event.pointerId);
    down.delete(event.pointerId);
    const was = gesture;
    stage.classList.remove("panning");
    if (down.size > 0) { // one finger of a pinch is still down: it pans from here
      begin();
      gesture.moved = true;
      return;
    }
    gesture = null;
    if (!was || was.pinch || event.type === "pointercancel") return;
    const dx = point.x - was.from.x, dy = point.y - was.from.y;
    if (was.moved && !zoomed() && was.type === "touch" &&
        Math.abs(dx) > SWIPE && Math.abs(dx) > 2 * Math.abs(dy)) {
      follow(dx < 0 ? "next" : "prev");
    } else if (!was.moved && was.type === "touch") {
      tapped(point);
    }
  }
  stage.addEventListener("pointerup", lift);
  stage.addEventListener("pointercancel", lift);

  // A tap shows or hides the toolbar; a second tap soon after, at the same place, zooms.
  function tapped(point) {
    if (tap && Date.now() - tap.at < TAP_MS && distance(tap, point) < 30) {
      clearTimeout(tap.timer);
      tap = null;
      if (ready) toggleZoom(point.x, point.y);
      return;
    }
    const timer = setTimeout(() => {
      tap = null;
      clearTimeout(idle);
      body.classList.toggle("bare");
    }, TAP_MS);
    tap = { at: Date.now(), x: point.x, y: point.y, timer };
  }

  // -- keys -------------------------------------------------------------------------------

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) return;
    const act = {
      "+": () => zoomTo(view.s * STEP),
      "=": () => zoomTo(view.s * STEP),
      "-": () => zoomTo(view.s / STEP),
      "_": () => zoomTo(view.s / STEP),
      "0": () => zoomTo(view.fit),
      f: fullscreen,
      i: () => panel && details(panel.hidden),
    }[event.key];
    if (!act) return;
    event.preventDefault();
    act();
  });
})();
