// A validator for the JSON Schema subset that deploy/schemas/*.schema.json use (draft-07 keywords: $ref to
// #/definitions, allOf, type, const, enum, properties, required, additionalProperties, items, minItems,
// minimum, maximum, minLength, maxLength, pattern). Unknown keywords fail loudly, so a schema that needs more
// cannot pass by being half-read. (No JSON Schema library is among the project's dependencies.)
type Schema = { [k: string]: unknown };

const KNOWN = new Set(['$schema', '$id', '$comment', 'title', 'description', 'definitions', '$ref', 'allOf', 'type', 'const', 'enum', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'minimum', 'maximum', 'minLength', 'maxLength', 'pattern']);

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);

/** Every violation of `schema` by `value`, as "<path>: <message>" (empty when valid). `root` resolves $ref. */
export function validateSchema(value: unknown, schema: Schema, root: Schema = schema, path = ''): string[] {
  const at = path || '/';
  for (const k of Object.keys(schema)) if (!KNOWN.has(k)) throw new Error(`json-schema-lite: unsupported keyword '${k}' at schema for ${at}`);
  if (typeof schema.$ref === 'string') {
    const m = /^#\/definitions\/(.+)$/.exec(schema.$ref);
    const target = m ? (root.definitions as Record<string, Schema> | undefined)?.[m[1]!] : undefined;
    if (!target) throw new Error(`json-schema-lite: cannot resolve ${schema.$ref}`);
    return validateSchema(value, target, root, path);
  }
  const errors: string[] = [];
  for (const sub of (schema.allOf as Schema[] | undefined) ?? []) errors.push(...validateSchema(value, sub, root, path));
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = ([] as string[]).concat(schema.type as string | string[]);
    if (!types.some((x) => x === t || (x === 'number' && t === 'integer'))) return [...errors, `${at}: must be ${types.join(' or ')}, got ${t}`];
  }
  if ('const' in schema && value !== schema.const) errors.push(`${at}: must be ${JSON.stringify(schema.const)}, got ${JSON.stringify(value)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) errors.push(`${at}: must be one of ${JSON.stringify(schema.enum)}, got ${JSON.stringify(value)}`);
  if (t === 'string') {
    const s = value as string;
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(s)) errors.push(`${at}: ${JSON.stringify(s)} does not match ${schema.pattern}`);
    if (typeof schema.minLength === 'number' && s.length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
    if (typeof schema.maxLength === 'number' && s.length > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
  }
  if (t === 'integer' || t === 'number') {
    const n = value as number;
    if (typeof schema.minimum === 'number' && n < schema.minimum) errors.push(`${at}: must be >= ${schema.minimum}, got ${n}`);
    if (typeof schema.maximum === 'number' && n > schema.maximum) errors.push(`${at}: must be <= ${schema.maximum}, got ${n}`);
  }
  if (t === 'array') {
    const a = value as unknown[];
    if (typeof schema.minItems === 'number' && a.length < schema.minItems) errors.push(`${at}: needs at least ${schema.minItems} item(s)`);
    if (schema.items) a.forEach((v, i) => errors.push(...validateSchema(v, schema.items as Schema, root, `${path}/${i}`)));
  }
  if (t === 'object') {
    const o = value as Record<string, unknown>;
    const props = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const r of (schema.required as string[] | undefined) ?? []) if (!(r in o)) errors.push(`${at}: missing required field '${r}'`);
    for (const [k, v] of Object.entries(o)) {
      if (k in props) errors.push(...validateSchema(v, props[k]!, root, `${path}/${k}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unknown field '${k}'`);
      else if (schema.additionalProperties && typeof schema.additionalProperties === 'object') errors.push(...validateSchema(v, schema.additionalProperties as Schema, root, `${path}/${k}`));
    }
  }
  return errors;
}
