// mediasrv: the grid as rows of photos that keep their shape, and pages that load as you
// scroll. Without this script the grid is square tiles with a pager, and every page URL
// (?page=N) works either way.
//
// Rows: each tile grows from a basis of ROW pixels high at its picture's width/height
// (data-w, data-h, from the index), in proportion to that shape, so the tiles of a row
// end at one height with their pictures whole (the justified layout Flickr and Google
// Photos draw). Pages: when the end of the grid comes near, the next page is fetched and
// its tiles appended (a month that goes on joins its section). The address follows the
// reader (the page and anchor of the tile at the top of the window), so Back returns to
// that place even when the browser loads the page again.
(() => {
  "use strict";

  const sections = document.getElementById("sections");
  if (!sections) return;
  const pageSize = Number(sections.dataset.pageSize);
  const phone = window.matchMedia("(max-width: 640px)");

  function rowHeight() { return phone.matches ? 110 : 190; }

  function shape(li) {
    const w = Number(li.dataset.w), h = Number(li.dataset.h);
    return w > 0 && h > 0 ? Math.min(Math.max(w / h, 0.4), 3) : 1;
  }

  function lay(list) {
    list.classList.add("justified");
    for (const li of list.children) {
      const ratio = shape(li);
      li.style.flex = `${ratio} 1 ${Math.round(rowHeight() * ratio)}px`;
      const img = li.querySelector(".tile img");
      if (img) img.style.aspectRatio = String(ratio);
    }
  }

  function layAll() { for (const list of sections.querySelectorAll("ul.grid")) lay(list); }
  layAll();
  phone.addEventListener("change", layAll);

  // -- where the reader is: the page of a tile, in the address ------------------------

  function pageOf(li) { return Math.floor(Number(li.id.slice(1)) / pageSize) + 1; }

  function addressAt(li) {
    const url = new URL(location.href);
    const page = pageOf(li);
    if (page > 1) url.searchParams.set("page", String(page));
    else url.searchParams.delete("page");
    url.hash = li.id;
    return url;
  }

  // As the reader scrolls, the address names the page and the tile at the top of the
  // window, so Back (or a reload) returns there.
  function firstInView() {
    for (const li of sections.querySelectorAll("ul.grid > li")) {
      if (li.getBoundingClientRect().bottom > 0) return li;
    }
    return null;
  }

  let settle = null;
  addEventListener("scroll", () => {
    clearTimeout(settle);
    settle = setTimeout(() => {
      const li = firstInView();
      if (!li || scrollY < 10) return; // at the top: the address as it came
      const url = addressAt(li);
      if (url.href !== location.href) history.replaceState(history.state, "", url);
    }, 150);
  }, {passive: true});

  // -- the next pages, as the end comes near -----------------------------------------

  const pager = document.querySelector("nav.pager");
  let next = document.getElementById("next");
  if (!next || !("IntersectionObserver" in window)) return;
  let nextUrl = next.href;
  const more = document.createElement("p");
  more.className = "more";
  more.id = "more";
  more.setAttribute("role", "status");
  more.textContent = "Loading more…";
  sections.parentElement.after(more); // after the grid and its rail, not between them
  if (pager) pager.hidden = true;

  let loading = false;
  async function load() {
    if (loading || !nextUrl) return;
    loading = true;
    try {
      const resp = await fetch(nextUrl, {headers: {Accept: "text/html"}});
      if (!resp.ok) throw new Error(`${resp.status}`);
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      append(doc.getElementById("sections"));
      const following = doc.getElementById("next");
      nextUrl = following ? following.href : null;
    } catch (error) {
      // the server is away or the tag changed: the pager does it the plain way
      nextUrl = null;
      if (pager) pager.hidden = false;
    } finally {
      loading = false;
    }
    if (!nextUrl) {
      watcher.disconnect();
      more.remove();
    } else if (nearEnd()) {
      load();
    }
  }

  function append(incoming) {
    if (!incoming) return;
    let join = true; // the first list goes on from the last one, unless a new month begins
    for (const node of Array.from(incoming.children)) {
      if (node.matches("h2.month")) {
        const lastHeading = Array.from(sections.querySelectorAll("h2.month")).pop();
        if (node.matches(".continued") && lastHeading &&
            lastHeading.dataset.month === node.dataset.month) {
          continue; // the month goes on: its tiles join the section above
        }
        join = false;
      } else if (node.matches("ul.grid")) {
        const last = sections.lastElementChild;
        if (join && last && last.matches("ul.grid")) {
          for (const li of Array.from(node.children)) last.appendChild(li);
          lay(last);
          join = false;
          continue;
        }
        lay(node);
        join = false;
      }
      sections.appendChild(node);
    }
  }

  function nearEnd() {
    return more.getBoundingClientRect().top < innerHeight * 2;
  }

  const watcher = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) load();
  }, {rootMargin: "0px 0px 100% 0px"}); // a screen ahead of the reader
  watcher.observe(more);
})();
