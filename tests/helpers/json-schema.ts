// JSON Schema validation of the deployment manifests (deploy/schemas/*.schema.json, draft-07) with ajv in strict
// mode: a keyword the schema misspells or ajv does not know fails loudly instead of being ignored. Errors come back
// as "<path>: <message>", with the wording the manifest test matches on (unknown field, must be one of, ...).
import { Ajv, type ErrorObject } from 'ajv';

type Schema = { [k: string]: unknown };

// strictTypes off: the vendored schema, like KServe's CRD, states `required` without repeating `type: object`.
const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, allowUnionTypes: true });
const compiled = new WeakMap<Schema, ReturnType<typeof ajv.compile>>();

function describe(e: ErrorObject): string {
  const at = e.instancePath || '/';
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at}: unknown field '${String(p.additionalProperty)}'`;
    case 'required':
      return `${at}: missing required field '${String(p.missingProperty)}'`;
    case 'enum':
      return `${at}: must be one of ${JSON.stringify(p.allowedValues)}`;
    case 'pattern':
      return `${at}: does not match ${String(p.pattern)}`;
    default:
      return `${at}: ${e.message ?? e.keyword}`;
  }
}

/**
 * Every violation of `schema` by `value` (empty when valid). `root` supplies the definitions `schema`'s $refs
 * (#/definitions/...) point into, when `schema` is a sub-schema of it.
 */
export function validateSchema(value: unknown, schema: Schema, root: Schema = schema): string[] {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema === root ? schema : { ...schema, definitions: root.definitions });
    compiled.set(schema, validate);
  }
  return validate(value) ? [] : (validate.errors ?? []).map(describe);
}
