// Draws each [data-chart] with uPlot from the JSON beside it (a <script type="application/json">).
(function () {
  'use strict';
  const colors = ['#1d4ed8', '#b45309', '#047857'];
  function draw(el) {
    const source = document.getElementById(el.dataset.chart);
    if (!source || typeof uPlot === 'undefined') return;
    const data = JSON.parse(source.textContent);
    if (!data.t || data.t.length === 0) return;
    const width = () => Math.max(280, el.clientWidth);
    const isDays = data.kind === 'days';
    const opts = {
      width: width(),
      height: 260,
      scales: { x: { time: true } },
      // Axis times in the marketer's zone (the session's), not the browser's.
      tzDate: data.zone ? (ts) => uPlot.tzDate(new Date(ts * 1e3), data.zone) : undefined,
      axes: [{}, { size: 60 }],
      series: [{}].concat(data.series.map((s, i) => ({
        label: s.label,
        stroke: colors[i % colors.length],
        width: 2,
        points: { show: data.t.length < 40 },
        paths: isDays && uPlot.paths && uPlot.paths.stepped ? uPlot.paths.stepped({ align: 1 }) : undefined,
      }))),
    };
    const plot = new uPlot(opts, [data.t].concat(data.series.map((s) => s.values)), el);
    el.dataset.drawn = 'true';
    window.addEventListener('resize', () => plot.setSize({ width: width(), height: 260 }));
  }
  document.querySelectorAll('[data-chart]').forEach(draw);
})();
