// Renders a Vega-Lite spec (JSON on stdin) to SVG on stdout with the same libraries the browser gets.
// Used by the tests to prove every chart spec compiles and renders; not used at run time.
import * as vl from 'vega-lite';
import * as vega from 'vega';
import fs from 'fs';

const spec = JSON.parse(fs.readFileSync(0, 'utf8'));
const compiled = vl.compile(spec).spec;
const view = new vega.View(vega.parse(compiled), {renderer: 'none'});
if (spec.config && spec.config.locale) {
  vega.formatLocale(spec.config.locale.number);
  vega.timeFormatLocale(spec.config.locale.time);
}
process.stdout.write(await view.toSVG());
