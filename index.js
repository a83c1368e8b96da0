// n8n loads the nodes and credentials listed under "n8n" in package.json from dist/;
// this entry exists so that `require('n8n-nodes-cortex')` resolves.
module.exports = {};
