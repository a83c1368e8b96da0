// Makes `import { ... } from 'n8n-workflow'` work in TypeScript run by Node's type stripping.
//
// Why: n8n-workflow 2.x publishes an ESM build (its "import" export condition) whose relative
// imports have no file extensions, so Node cannot load it. n8n-core is CommonJS and require()s
// the CommonJS build. Node nodes and tests must share that one CommonJS instance anyway: two
// copies would mean two NodeApiError classes and failing `instanceof` checks inside the engine.
//
// This hook resolves every ESM import of n8n-workflow (and its subpaths) with the "require"
// condition instead of "import", so ESM code gets the CommonJS build (Node exposes its named
// exports). It applies to modules loaded AFTER it is registered:
//   - importing test/nodes/engine.ts registers it, so load node modules with `await import()`
//     after importing the engine; or
//   - preload it for static imports: `node --import ./test/nodes/esm-hook.ts --test ...`.

import { registerHooks } from 'node:module';

const marker = Symbol.for('cortex.test.n8nWorkflowCjsHook');
const globals = globalThis as typeof globalThis & { [marker]?: boolean };

if (!globals[marker]) {
  globals[marker] = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const isN8nWorkflow = specifier === 'n8n-workflow' || specifier.startsWith('n8n-workflow/');
      if (isN8nWorkflow && context.conditions.includes('import')) {
        const conditions = context.conditions.filter((c) => c !== 'import');
        return nextResolve(specifier, { ...context, conditions: [...conditions, 'require'] });
      }
      return nextResolve(specifier, context);
    },
  });
}
