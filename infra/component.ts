/**
 * What every deploy-notifier component shares: its type token and the options of its children.
 *
 * The resources were first declared at the top of the stack, without a parent. A resource's URN
 * includes its parent's type, so moving it into a component would make `pulumi up` delete and
 * recreate it (the audit table included) unless it carries an alias to its old URN. Every child
 * therefore keeps its logical name and gets `aliases: [{ parent: pulumi.rootStackResource }]`.
 */
import * as pulumi from "@pulumi/pulumi";

/** Tags applied to every taggable resource (key → value). */
export type Tags = Record<string, string>;

/** The type token of a deploy-notifier component: `deploy-notifier:infra:<Name>`. */
export function componentType(name: string): string {
  return `deploy-notifier:infra:${name}`;
}

/**
 * Options for a child of `parent` that was declared at the stack's top level before the
 * components existed: parented to the component, aliased to its old, parentless URN.
 */
export function childOptions(parent: pulumi.Resource): pulumi.CustomResourceOptions {
  return { parent, aliases: [{ parent: pulumi.rootStackResource }] };
}
