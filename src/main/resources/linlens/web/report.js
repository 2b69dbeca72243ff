/* The self-contained report's start: its data block, read as JSON (never as markup), draws the page. */
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('linlens-data').textContent);
  document.title = data.title;
  document.getElementById('report-title').textContent = data.title;
  LinLens.render(document.getElementById('report'), data, 'r');
})();
