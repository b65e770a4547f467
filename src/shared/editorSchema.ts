/**
 * The schema VS Code's JSON language service gets for `*.distill.json`: the config schema with its documentation,
 * completion values and snippets, but none of its constraints. Distill's own diagnostics (configDiagnostics.ts)
 * check every constraint with a message that names the field, the valid choices and the fix; if the JSON service
 * checked them too, each bad value would be reported twice ("alpha must be between 0 and 1 (got 1.5)" and "Value
 * is above the maximum of 1."). `distill.schema.json` stays the full schema, for other tools.
 */

/** Keywords that only constrain; dropping them leaves hover, completion and snippets as they were. */
const CONSTRAINTS = new Set([
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minLength',
  'maxLength',
  'pattern',
  'required',
  'additionalProperties',
  'minProperties',
  'maxProperties',
]);

type SchemaNode = Record<string, unknown>;

export function editorSchema(schema: SchemaNode): SchemaNode {
  const walk = (node: unknown, inProperties = false): unknown => {
    if (Array.isArray(node)) return node.map((n) => walk(n));
    if (!node || typeof node !== 'object') return node;
    const out: SchemaNode = {};
    for (const [key, value] of Object.entries(node as SchemaNode)) {
      // Inside `properties` the keys are field names, not keywords ("pattern" could be a field).
      if (!inProperties && CONSTRAINTS.has(key)) continue;
      // A type is a constraint too, except where completion needs it (true/false for booleans).
      if (!inProperties && key === 'type' && value !== 'boolean') continue;
      out[key] = walk(value, key === 'properties' && !inProperties);
    }
    // An enum still completes and documents its values, but accepts any string: ours says which are valid.
    if (!inProperties && Array.isArray(out.enum)) {
      const { enum: values, markdownEnumDescriptions, enumDescriptions, ...rest } = out;
      return {
        ...rest,
        anyOf: [{ enum: values, ...(markdownEnumDescriptions ? { markdownEnumDescriptions } : {}), ...(enumDescriptions ? { enumDescriptions } : {}) }, {}],
      };
    }
    // A single literal (`format: "idx"`) is kept: it is how completion tells the data formats apart.
    return out;
  };
  return walk(schema) as SchemaNode;
}
