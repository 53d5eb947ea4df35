import { z } from 'zod';
import { GROUP, VERSION } from './group.js';
import { toStructuralSchema } from './structural-schema.js';

/** What one of the controller's CustomResourceDefinitions says; the rest is the same for all of them. */
export interface CrdOptions {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  /** CEL rules on the spec (the API server checks them; zod's refinements do not reach the schema). */
  specValidations: { rule: string; message: string }[];
  printerColumns: Record<string, unknown>[];
}

const json = (schema: z.ZodType, io: 'input' | 'output') =>
  z.toJSONSchema(schema, { target: 'openapi-3.0', io });

/** A namespaced CRD with a status subresource, its openAPIV3Schema derived from the zod schemas. */
export function customResourceDefinition(o: CrdOptions): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${o.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: o.kind,
        listKind: `${o.kind}List`,
        plural: o.plural,
        singular: o.singular,
        ...(o.shortNames ? { shortNames: o.shortNames } : {}),
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: o.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: o.description,
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: {
                  ...toStructuralSchema(json(o.spec, 'input')),
                  'x-kubernetes-validations': o.specValidations,
                },
                status: toStructuralSchema(json(o.status, 'output')),
              },
            },
          },
        },
      ],
    },
  };
}

/** A zod error's first problem, as the status and the Events report it: `path: message`. */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}
