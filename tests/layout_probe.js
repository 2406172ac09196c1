// The layout probe of tests/test_layout.py, evaluated in a report page loaded in headless Chromium.
// (a) Every word and number inside every td and th is wrapped in a span (a span adds no break opportunity,
//     so the page lays out as before); a span with more than one line box on screen is a token broken across
//     lines. Reported: any number (digits with no letters: 179, 3.4, 3.0–4.8, 58%) broken anywhere, and any
//     part of a word shorter than 12 characters broken inside it. A word may break after its own hyphen,
//     dash or slash ("self-|assessment"), so each part between those is a token of its own.
// (b) Horizontal overflow: the page wider than its viewport, with the widest elements that stick out.
// Returns {broken: [{table, cell, token, lines}], viewport, scrollWidth, overflow: [{element, right}]}.
(function () {
  var SHORT = 12;
  var NUMBER = /^[^\p{L}]*\p{N}[^\p{L}]*$/u;
  var SOFT = /(?<=[\-\u2010\u2011\u2013\u2014\/])(?=[\p{L}\p{N}])/u;
  var broken = [];
  function lineCount(span) {
    var tops = [];
    Array.prototype.forEach.call(span.getClientRects(), function (r) {
      if (r.width > 0 && r.height > 0 && tops.every(function (t) { return Math.abs(t - r.top) > r.height / 2; })) {
        tops.push(r.top);
      }
    });
    return tops.length;
  }
  // text for screen readers only (the usual 1 px clipped box): inside one, a word has a line per letter
  function visuallyHidden(el, stop) {
    for (; el && el !== stop; el = el.parentElement) {
      var r = el.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1) return true;
    }
    return false;
  }
  function describe(el) {
    var table = el.closest("table");
    var caption = table && table.querySelector("caption");
    return caption ? caption.textContent.replace(/\s+/g, " ").trim().slice(0, 80) : "(a table without a caption)";
  }
  // first every cell is wrapped, then every span measured: one layout, not one per cell
  var tokens = [];
  document.querySelectorAll("td, th").forEach(function (cell) {
    if (!cell.checkVisibility()) return;  // not on screen: inside a closed <details>, hidden at this width
    var walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    var nodes = [];
    while (walker.nextNode()) nodes.push(walker.currentNode);
    nodes.forEach(function (node) {
      var frag = document.createDocumentFragment();
      node.data.split(/(\s+)/).forEach(function (part) {
        if (!part) return;
        if (/^\s+$/.test(part)) { frag.appendChild(document.createTextNode(part)); return; }
        var number = NUMBER.test(part);
        (number ? [part] : part.split(SOFT)).forEach(function (piece) {
          var span = document.createElement("span");
          span.textContent = piece;
          frag.appendChild(span);
          if (number || piece.length < SHORT) tokens.push({span: span, cell: cell});
        });
      });
      node.parentNode.replaceChild(frag, node);
    });
  });
  tokens.forEach(function (t) {
    if (visuallyHidden(t.span.parentElement, t.cell.closest("table"))) return;
    var lines = lineCount(t.span);
    if (lines > 1) {
      broken.push({table: describe(t.cell), cell: t.cell.textContent.replace(/\s+/g, " ").trim().slice(0, 80),
                   token: t.span.textContent, lines: lines});
    }
  });
  // the page is wider than the screen (clientWidth: on a phone, innerWidth grows to the overflowing width)
  var root = document.documentElement, viewport = root.clientWidth, overflow = [];
  if (root.scrollWidth > viewport) {
    var out = [];
    document.querySelectorAll("body *").forEach(function (el) {
      var r = el.getBoundingClientRect();
      var spill = getComputedStyle(el).overflowX === "visible" ? el.scrollWidth : 0;  // text beyond its box
      var right = r.left + Math.max(r.width, spill);
      if (right > viewport + 1) out.push({el: el, right: right});
    });
    // the innermost: elements holding no other that sticks out, widest first
    out.filter(function (o) { return !out.some(function (p) { return p.el !== o.el && o.el.contains(p.el); }); })
      .sort(function (a, b) { return b.right - a.right; }).slice(0, 10).forEach(function (o) {
        var el = o.el;
        overflow.push({element: el.tagName.toLowerCase() + (typeof el.className === "string" && el.className ?
                         "." + el.className.trim().split(/\s+/).join(".") : ""),
                       text: (el.textContent || "").replace(/\s+/g, " ").trim().slice(0, 60), right: Math.round(o.right)});
      });
  }
  return {broken: broken, viewport: viewport, innerWidth: window.innerWidth, scrollWidth: root.scrollWidth,
          overflow: overflow};
})()
