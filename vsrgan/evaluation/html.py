"""``report.html``: the evaluation on one page, plain HTML with inline CSS and JS.

Nothing is fetched from a network: the plots and pictures are PNG files beside the page, named
relatively, so the folder can be copied, zipped or opened offline. The before/after slider is a
dozen lines of JavaScript: the bicubic image lies over the model's, clipped at the divider.
With ``--degrade`` conditions, the summary has a table per condition and each source a section
per condition.
"""

import datetime
import html

from ..version import __version__
from .results import METRICS, Evaluation, format_value, gains, label, showcase_key

STYLE = """
:root { --ink: #1d2433; --muted: #5b6578; --line: #dfe3ea; --accent: #2f6fde; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1120px; margin: 0 auto; padding: 28px 24px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; } h2 { font-size: 20px; margin: 0 0 12px; } h3 { font-size: 15px; margin: 18px 0 8px; }
.sub { color: var(--muted); margin: 0 0 22px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 20px 22px; margin: 0 0 22px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 7px 10px; border-bottom: 1px solid var(--line); text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; color: var(--muted); font-size: 13px; }
td.best { font-weight: 700; color: var(--accent); }
.plot { width: 100%; border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; }
.compare { margin: 0 0 14px; }
.stage { position: relative; overflow: hidden; border-radius: 6px; cursor: ew-resize; user-select: none; touch-action: none; background: #000; }
.layer { position: absolute; inset: 0; }
.layer img { position: absolute; inset: 0; width: 100%; height: 100%; display: block; transition: transform .25s; pointer-events: none; }
.zoomed .layer img { image-rendering: pixelated; }
.divider { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; background: #fff; box-shadow: 0 0 4px rgba(0,0,0,.6); pointer-events: none; }
.tag { position: absolute; top: 10px; padding: 2px 9px; border-radius: 4px; background: rgba(0,0,0,.62); color: #fff; font-size: 13px; pointer-events: none; }
.tag.left { left: 10px; } .tag.right { right: 10px; }
.controls { display: flex; gap: 14px; align-items: center; margin-top: 8px; color: var(--muted); font-size: 13px; }
.controls input[type=range] { flex: 1; accent-color: var(--accent); }
button { font: inherit; font-size: 13px; padding: 4px 12px; border: 1px solid var(--line); border-radius: 5px; background: #fff; cursor: pointer; }
button:hover { border-color: var(--accent); }
.crops { display: flex; flex-wrap: wrap; gap: 12px; }
.crops figure { margin: 0; }
.crops img { width: 200px; height: 200px; image-rendering: pixelated; display: block; border-radius: 4px; border: 1px solid var(--line); }
.crops figcaption { font-size: 13px; color: var(--muted); text-align: center; margin-top: 3px; }
.files { font-size: 13px; color: var(--muted); margin: 4px 0 0; } a { color: var(--accent); }
details { color: var(--muted); font-size: 13px; } details li { margin: 3px 0; }
"""

SCRIPT = """
document.querySelectorAll('.compare').forEach(function (figure) {
  var stage = figure.querySelector('.stage'), left = figure.querySelector('.layer.left');
  var divider = figure.querySelector('.divider'), range = figure.querySelector('input[type=range]');
  var zoom = figure.querySelector('button.zoom');
  function split(percent) {
    percent = Math.min(100, Math.max(0, percent));
    left.style.clipPath = 'inset(0 ' + (100 - percent) + '% 0 0)';
    divider.style.left = percent + '%';
    range.value = percent;
  }
  range.addEventListener('input', function () { split(parseFloat(range.value)); });
  function follow(event) {
    var box = stage.getBoundingClientRect();
    split((event.clientX - box.left) / box.width * 100);
  }
  stage.addEventListener('pointerdown', function (event) { stage.setPointerCapture(event.pointerId); follow(event); });
  stage.addEventListener('pointermove', function (event) { if (stage.hasPointerCapture(event.pointerId)) follow(event); });
  zoom.addEventListener('click', function () {
    var on = figure.classList.toggle('zoomed');
    figure.querySelectorAll('.layer img').forEach(function (img) { img.style.transform = on ? zoom.dataset.transform : ''; });
    zoom.textContent = on ? 'show whole frame' : 'zoom to detail';
  });
  split(parseFloat(range.value));
});
"""


def esc(x) -> str:
    return html.escape(str(x), quote=True)


def metric_table(means: dict[str, dict[str, float]], methods: list[str], keys: list[str], gain: dict[str, float] | None = None) -> str:
    """Methods as rows, metrics as columns; the best value of each column in bold. ``gain`` (model ->
    PSNR-Y over bicubic, dB): a column for it after the first."""
    heads = [f"<th>{esc(METRICS[m][0])} {'&uarr;' if METRICS[m][1] else '&darr;'}</th>" for m in keys]
    if gain is not None:
        heads.insert(1, "<th>gain over bicubic (dB)</th>")
    head = "".join(heads)
    best = {}
    for m in keys:
        values = [means[method][m] for method in methods if means[method][m] == means[method][m]]
        best[m] = (max if METRICS[m][1] else min)(values) if values and len(methods) > 1 else None
    rows = []
    for method in methods:
        cells = [f"<td class=\"{'best' if means[method][m] == best[m] else ''}\">{format_value(m, means[method][m])}</td>" for m in keys]
        if gain is not None:
            cells.insert(1, f"<td>{gain[method]:+.3f}</td>" if method in gain else "<td></td>")
        rows.append(f"<tr><td>{esc(method)}</td>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th>method</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def condition_table(result: Evaluation, means: dict[str, dict[str, float]], condition: str | None) -> str:
    """The methods' means under one --degrade condition (None: without --degrade), with their PSNR-Y gain."""
    if condition is None:
        return metric_table(means, result.methods, result.metrics)
    scores = {method: means[label(method, condition)] for method in result.methods}
    gain = {method: g["psnr_y"] for method, g in gains(means, result.methods, ["psnr_y"], condition).items()}
    return metric_table(scores, result.methods, result.metrics, gain)


def zoom_origin(centre: float, length: float, k: float) -> float:
    """The transform-origin (percent) that, scaling by ``k`` > 1, shows the span of ``length / k``
    around ``centre``, slid inward at the edges so the picture always fills the view.

    Scaling about O maps a point P to O + k (P - O); the span starting at ``a`` lands at 0 when
    O = k a / (k - 1), which lies inside the picture for every ``a`` in [0, length - length / k]."""
    if k <= 1:
        return 50.0
    a = min(max(centre - length / k / 2, 0.0), length - length / k)
    return k * a / (k - 1) / length * 100


def slider(picture: dict, left: str, right: str) -> str:
    """Before/after view: ``left`` (bicubic) over ``right`` (a model), split where the user drags."""
    w, h = picture["size"]
    x, y, size = picture["box"]
    k = h / size  # the zoom: the detail crop fills the height
    ox, oy = zoom_origin(x + size / 2, w, k), zoom_origin(y + size / 2, h, k)
    zoom = f"scale({k:.4f})"
    return f"""
<figure class="compare">
  <div class="stage" style="aspect-ratio: {w} / {h}; max-width: min(100%, calc(72vh * {w} / {h}))">
    <div class="layer right"><img src="{esc(picture['full'][right])}" alt="{esc(right)}" draggable="false" style="transform-origin: {ox:.3f}% {oy:.3f}%"></div>
    <div class="layer left"><img src="{esc(picture['full'][left])}" alt="{esc(left)}" draggable="false" style="transform-origin: {ox:.3f}% {oy:.3f}%"></div>
    <div class="divider"></div>
    <span class="tag left">{esc(left)}</span><span class="tag right">{esc(right)}</span>
  </div>
  <div class="controls">
    <span>{esc(left)}</span>
    <input type="range" min="0" max="100" step="0.1" value="50" aria-label="split between {esc(left)} and {esc(right)}">
    <span>{esc(right)}</span>
    <button class="zoom" type="button" data-transform="{esc(zoom)}">zoom to detail</button>
  </div>
</figure>"""


def crops(picture: dict) -> str:
    cells = []
    for crop in picture["crops"]:
        note = f" &middot; {crop['psnr']:.2f} dB" if crop["psnr"] is not None else ""
        cells.append(f"<figure><img src=\"{esc(crop['file'])}\" alt=\"{esc(crop['label'])}\"><figcaption>{esc(crop['label'])}{note}</figcaption></figure>")
    return f"<div class=\"crops\">{''.join(cells)}</div>"


def source_section(result: Evaluation, source: dict, condition: str | None, picture: dict) -> str:
    models = [m for m in result.methods if m != "bicubic"]
    pairs = [("bicubic", m) for m in models] or [("bicubic", "ground truth")]
    size = f"{source['width']}x{source['height']}" if source["width"] else "various sizes"
    unit = "frames" if source["kind"] == "video" else "images"
    x, y, crop = picture["box"]
    return f"""
<section class="source">
  <h2>{esc(source['name'])}{f' &middot; input degraded by {esc(condition)}' if condition else ''}</h2>
  <p class="sub">{esc(source['kind'])} &middot; {source['samples']} {unit} &middot; {size} &middot; <code>{esc(source['path'])}</code></p>
  {condition_table(result, result.per_source[source['name']], condition)}
  <h3>{esc(picture['item'])}: the most detailed {unit[:-1]}; drag across the picture or the slider</h3>
  {''.join(slider(picture, left, right) for left, right in pairs)}
  <p class="files">Full size: {' &middot; '.join(f'<a href="{esc(file)}">{esc(label)}</a>' for label, file in picture['full'].items())}</p>
  <h3>Detail: {crop}x{crop} pixels at ({x}, {y}), enlarged; PSNR-Y of the crop</h3>
  {crops(picture)}
</section>"""


def render(result: Evaluation, pictures: dict[str, dict], *, conventions: dict[str, str]) -> str:
    """The whole page as a string."""
    sources = ", ".join(f"{s['name']} ({s['samples']})" for s in result.sources)
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    notes = "".join(
        f"<li><b>{esc(METRICS[m][0] if m in METRICS else m)}</b>: {esc(text)}</li>" for m, text in conventions.items() if m in (*result.metrics, "means", "degrade")
    )
    summary = "".join((f"<h3>{esc(c)}</h3>" if c else "") + condition_table(result, result.summary, c) for c in result.conditions or [None])
    body = "".join(source_section(result, s, c, pictures[showcase_key(s["name"], c)]) for s in result.sources for c in result.conditions or [None])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>vsrgan evaluation: {esc(', '.join(result.methods))}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
  <h1>vsrgan evaluation, x{result.scale}</h1>
  <p class="sub">{esc(sources)} &middot; vsrgan {esc(__version__)} &middot; {when}</p>
  <section>
    <h2>Summary</h2>
    {summary}
    <details><summary>How these are measured</summary><ul>{notes}</ul></details>
  </section>
  <section>
    <h2>Per {'frame' if any(s['kind'] == 'video' for s in result.sources) else 'image'}</h2>
    <img class="plot" src="psnr_per_frame.png" alt="PSNR-Y per frame">
    <img class="plot" src="metrics.png" alt="mean of each metric per method">
  </section>
  {body}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""
