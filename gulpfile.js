// Copies the nodes' and credentials' icons (and codex .node.json files) next to the
// compiled JavaScript in dist/, where n8n looks for them.
const { src, dest } = require('gulp');

function buildAssets() {
  return src(['nodes/**/*.{png,svg,json}', 'credentials/**/*.{png,svg}'], { base: '.', allowEmpty: true, encoding: false }).pipe(
    dest('dist'),
  );
}

exports['build:assets'] = buildAssets;
