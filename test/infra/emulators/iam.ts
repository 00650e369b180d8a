import { LOCAL_ACCOUNT, resourcesOf, type SynthesizedStack } from "./stack-template.ts";

type Json = Record<string, unknown>;

/** Whether a call is allowed and, when it is not, AWS's AccessDenied sentence. */
export interface Decision {
  allowed: boolean;
  message: string;
}

/** The session name `evaluate` puts in its sentences when it is given none. */
export const SESSION_PLACEHOLDER = "<session>";

// The default versions of the AWS managed policies the template attaches. Any other ARN throws:
// guessing a document would allow or refuse calls AWS would not.
const AWS_MANAGED: Record<string, Json> = {
  "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: "*",
      },
    ],
  },
};

const NO_VALUE = Symbol("AWS::NoValue");

interface Scope {
  names: ReadonlyMap<string, string>;
  stackName: string;
  /** The logical id (and place) being resolved, for the errors. */
  where: string;
}

function pseudo(name: string, scope: Scope): string | typeof NO_VALUE | undefined {
  switch (name) {
    case "AWS::Partition":
      return "aws";
    case "AWS::Region":
      return LOCAL_ACCOUNT.region;
    case "AWS::AccountId":
      return LOCAL_ACCOUNT.account;
    case "AWS::URLSuffix":
      return "amazonaws.com";
    case "AWS::StackName":
      return scope.stackName;
    case "AWS::NoValue":
      return NO_VALUE;
    default:
      return undefined;
  }
}

/** `Ref` / `Fn::GetAtt` of a resource, through the local names; throws when it names nothing here. */
function named(key: string, expression: unknown, scope: Scope): string {
  const value = scope.names.get(key);
  if (value === undefined)
    throw new Error(`${scope.where}: ${JSON.stringify(expression)} refers to nothing named locally`);
  return value;
}

function resolveSub(argument: unknown, scope: Scope): string {
  const expression = { "Fn::Sub": argument };
  const [template, rawVariables] = Array.isArray(argument) ? argument : [argument, {}];
  if (typeof template !== "string" || typeof rawVariables !== "object" || rawVariables === null)
    throw new Error(`${scope.where}: cannot resolve ${JSON.stringify(expression)}`);
  const variables = resolve(rawVariables, scope) as Json;
  return template.replace(/\$\{([^}]*)\}/g, (_, name: string) => {
    if (name.startsWith("!")) return `\${${name.slice(1)}}`;
    const given = variables[name];
    if (typeof given === "string") return given;
    if (given !== undefined)
      throw new Error(`${scope.where}: \${${name}} in ${JSON.stringify(expression)} is not a string`);
    const value = pseudo(name, scope);
    if (typeof value === "string") return value;
    // `${Id.Attribute}` is Fn::GetAtt, `${Id}` is Ref.
    const key = name.includes(".") ? name : `Ref:${name}`;
    const found = value === undefined ? scope.names.get(key) : undefined;
    if (found === undefined)
      throw new Error(
        `${scope.where}: \${${name}} in ${JSON.stringify(expression)} resolves to nothing here`,
      );
    return found;
  });
}

function resolveIntrinsic(fn: string, argument: unknown, scope: Scope): unknown {
  const expression = { [fn]: argument };
  const fail = () => new Error(`${scope.where}: cannot resolve ${JSON.stringify(expression)} locally`);
  const strings = (value: unknown): string[] => {
    const list = resolve(value, scope);
    if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) throw fail();
    return list;
  };
  const pair = (): [unknown, unknown] => {
    if (!Array.isArray(argument) || argument.length !== 2) throw fail();
    return [argument[0], argument[1]];
  };
  switch (fn) {
    case "Ref": {
      if (typeof argument !== "string") throw fail();
      return pseudo(argument, scope) ?? named(`Ref:${argument}`, expression, scope);
    }
    case "Fn::GetAtt": {
      const [id, attribute] =
        typeof argument === "string"
          ? [argument.split(".")[0], argument.split(".").slice(1).join(".")]
          : pair();
      if (typeof id !== "string" || typeof attribute !== "string") throw fail();
      return named(`${id}.${attribute}`, expression, scope);
    }
    case "Fn::Join": {
      const [separator, list] = pair();
      if (typeof separator !== "string") throw fail();
      return strings(list).join(separator);
    }
    case "Fn::Sub":
      return resolveSub(argument, scope);
    case "Fn::Select": {
      const [index, list] = pair();
      const item = strings(list)[Number(resolve(index, scope))];
      if (item === undefined) throw fail();
      return item;
    }
    case "Fn::Split": {
      const [delimiter, value] = pair();
      const text = resolve(value, scope);
      if (typeof delimiter !== "string" || typeof text !== "string") throw fail();
      return text.split(delimiter);
    }
    default:
      throw fail();
  }
}

/** A template value with every intrinsic resolved locally; `AWS::NoValue` leaves its array or object. */
function resolve(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value))
    return value.map((item) => resolve(item, scope)).filter((item) => item !== NO_VALUE);
  if (typeof value !== "object" || value === null) return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only && (only[0] === "Ref" || only[0].startsWith("Fn::")))
    return resolveIntrinsic(only[0], only[1], scope);
  return Object.fromEntries(
    entries.map(([key, item]) => [key, resolve(item, scope)]).filter(([, item]) => item !== NO_VALUE),
  );
}

/** A glob of IAM's: `*` any run of characters, `?` any one. */
function glob(pattern: string, flags = ""): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${body}$`, `s${flags}`);
}

/** The five first colon-separated segments of an ARN, then the rest (which may hold colons). */
function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(":");
  return parts.length < 6 ? undefined : [...parts.slice(0, 5), parts.slice(5).join(":")];
}

type Matcher = (value: string) => boolean;

// A wildcard matches within its segment only, except in the resource part: `arn:aws:lambda:*:function:*`
// names an account called "function", not every function.
function arnMatcher(pattern: string, where: string): Matcher {
  if (pattern === "*") return () => true;
  const parts = splitArn(pattern)?.map((part) => glob(part));
  if (!parts) throw new Error(`${where}: ${JSON.stringify(pattern)} is neither "*" nor an ARN`);
  return (value) => {
    const segments = splitArn(value);
    return segments !== undefined && parts.every((part, i) => part.test(segments[i] ?? ""));
  };
}

function actionMatcher(pattern: string, where: string): Matcher {
  if (pattern !== "*" && !/^[^:]+:[^:]+$/.test(pattern))
    throw new Error(`${where}: action ${JSON.stringify(pattern)} is not "*" nor "service:action"`);
  const regex = glob(pattern, "i");
  return (value) => regex.test(value);
}

function noVariables(value: string, where: string): string {
  if (value.includes("${")) throw new Error(`${where}: policy variables are not supported here (${value})`);
  return value;
}

function stringList(value: unknown, what: string, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((item) => typeof item === "string"))
    throw new Error(`${where}: ${what} is not a string or a list of strings: ${JSON.stringify(value)}`);
  return list.map((item) => noVariables(item, where));
}

interface Operator {
  negated: boolean;
  compile: (value: string, where: string) => Matcher;
}

const equals = (expected: string) => (value: string) => value === expected;
const like = (pattern: string) => {
  const regex = glob(pattern);
  return (value: string) => regex.test(value);
};
const ignoringCase = (expected: string) => (value: string) => value.toLowerCase() === expected.toLowerCase();
const OPERATORS: Record<string, Operator> = {
  StringEquals: { negated: false, compile: equals },
  StringNotEquals: { negated: true, compile: equals },
  StringEqualsIgnoreCase: { negated: false, compile: ignoringCase },
  StringNotEqualsIgnoreCase: { negated: true, compile: ignoringCase },
  StringLike: { negated: false, compile: like },
  StringNotLike: { negated: true, compile: like },
  // IAM gives ArnEquals the wildcards of ArnLike.
  ArnEquals: { negated: false, compile: arnMatcher },
  ArnLike: { negated: false, compile: arnMatcher },
  ArnNotEquals: { negated: true, compile: arnMatcher },
  ArnNotLike: { negated: true, compile: arnMatcher },
  Bool: { negated: false, compile: ignoringCase },
};

/** One key of one operator: true when the request context satisfies it. */
type Test = (context: ReadonlyMap<string, string>) => boolean;

function conditionTest(operator: string, key: string, raw: unknown, where: string): Test {
  const at = `${where} Condition ${operator} ${key}`;
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0 || !list.every((item) => ["string", "number", "boolean"].includes(typeof item)))
    throw new Error(`${at}: values ${JSON.stringify(raw)} are not strings, numbers or booleans`);
  const values = list.map((item) => noVariables(String(item), at));
  const name = key.toLowerCase();
  if (operator === "Null") {
    if (!values.every((value) => value === "true" || value === "false"))
      throw new Error(`${at}: Null takes "true" or "false", not ${JSON.stringify(raw)}`);
    return (context) => values.includes(context.has(name) ? "false" : "true");
  }
  // Set operators (ForAnyValue:, ForAllValues:) and NullIfExists are not keys here either.
  const ifExists = operator.endsWith("IfExists");
  const op = OPERATORS[ifExists ? operator.slice(0, -"IfExists".length) : operator];
  if (!op) throw new Error(`${at}: condition operator ${operator} is not supported here`);
  const matchers = values.map((value) => op.compile(value, at));
  return (context) => {
    const value = context.get(name);
    // AWS: a missing key fails a positive test and passes a negated one, unless ...IfExists.
    if (value === undefined) return ifExists || op.negated;
    return matchers.some((matches) => matches(value)) !== op.negated;
  };
}

interface Statement {
  source: string;
  effect: "Allow" | "Deny";
  applies: (action: string, resource: string, context: ReadonlyMap<string, string>) => boolean;
}

const STATEMENT_KEYS = new Set([
  "Sid",
  "Effect",
  "Action",
  "NotAction",
  "Resource",
  "NotResource",
  "Condition",
]);

/** One of a pair of elements (`Action` / `NotAction`): its matchers and whether it is the `Not` one. */
function element(
  raw: Json,
  name: string,
  compile: (pattern: string, where: string) => Matcher,
  where: string,
) {
  const [positive, negative] = [raw[name], raw[`Not${name}`]];
  if ((positive === undefined) === (negative === undefined))
    throw new Error(`${where}: needs exactly one of ${name} and Not${name}`);
  const patterns = stringList(positive ?? negative, positive === undefined ? `Not${name}` : name, where);
  const matchers = patterns.map((pattern) => compile(pattern, where));
  const not = positive === undefined;
  return (value: string) => matchers.some((matches) => matches(value)) !== not;
}

function parseStatement(raw: unknown, where: string): Statement {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new Error(`${where}: not a statement: ${JSON.stringify(raw)}`);
  const statement = raw as Json;
  const unknown = Object.keys(statement).filter((key) => !STATEMENT_KEYS.has(key));
  if (unknown.length > 0)
    throw new Error(`${where}: ${unknown.join(", ")} has no place in an identity policy`);
  const effect = statement.Effect;
  if (effect !== "Allow" && effect !== "Deny") throw new Error(`${where}: Effect ${JSON.stringify(effect)}`);
  const action = element(statement, "Action", actionMatcher, where);
  const resource = element(statement, "Resource", arnMatcher, where);
  const condition = statement.Condition ?? {};
  if (typeof condition !== "object" || condition === null || Array.isArray(condition))
    throw new Error(`${where}: Condition is not an object`);
  const tests = Object.entries(condition).flatMap(([operator, keys]) => {
    if (typeof keys !== "object" || keys === null || Array.isArray(keys))
      throw new Error(`${where}: Condition ${operator} is not an object of keys`);
    return Object.entries(keys).map(([key, values]) => conditionTest(operator, key, values, where));
  });
  return {
    source: where,
    effect,
    applies: (a, r, context) => action(a) && resource(r) && tests.every((test) => test(context)),
  };
}

function parseDocument(document: unknown, where: string): Statement[] {
  const statements = (document as { Statement?: unknown } | undefined)?.Statement;
  if (statements === undefined) throw new Error(`${where}: the policy document has no Statement`);
  const list = Array.isArray(statements) ? statements : [statements];
  return list.map((statement, i) => parseStatement(statement, `${where} Statement[${i}]`));
}

interface Role {
  name: string;
  statements: Statement[];
}

/**
 * The identity policies of the template's roles, resolved and parsed once, and IAM's decision on a
 * call a role's session makes; throws on any part of the template it cannot read faithfully.
 */
export class IamPolicies {
  private readonly roles = new Map<string, Role>();

  constructor(
    private readonly stack: SynthesizedStack,
    names: ReadonlyMap<string, string>,
  ) {
    const scope = (where: string): Scope => ({ names, stackName: stack.stackName, where });
    const parsed = (id: string, document: unknown, where = id) =>
      parseDocument(resolve(document, scope(id)), where);
    const managed = new Map<string, Statement[]>(
      Object.entries(AWS_MANAGED).map(([arn, document]) => [arn, parseDocument(document, arn)]),
    );
    for (const [id, policy] of resourcesOf(stack, "AWS::IAM::ManagedPolicy"))
      managed.set(named(`Ref:${id}`, { Ref: id }, scope(id)), parsed(id, policy.Properties?.PolicyDocument));
    for (const [id, role] of resourcesOf(stack, "AWS::IAM::Role")) {
      const p = role.Properties ?? {};
      if (p.PermissionsBoundary !== undefined)
        throw new Error(`${id}: permissions boundaries are not supported here`);
      if (p.RoleName !== undefined && typeof p.RoleName !== "string")
        throw new Error(`${id}: RoleName ${JSON.stringify(p.RoleName)} is not a literal`);
      const inline = (Array.isArray(p.Policies) ? p.Policies : []) as Json[];
      const arns = resolve(p.ManagedPolicyArns ?? [], scope(id));
      if (!Array.isArray(arns))
        throw new Error(`${id}: ManagedPolicyArns ${JSON.stringify(arns)} is not a list`);
      const statements = [
        ...inline.flatMap((policy, i) => parsed(id, policy.PolicyDocument, `${id} Policies[${i}]`)),
        ...(arns.length === 0 ? [] : stringList(arns, "ManagedPolicyArns", id)).flatMap((arn) => {
          const attached = managed.get(arn);
          if (!attached) throw new Error(`${id}: managed policy ${arn} is not known here`);
          return attached;
        }),
      ];
      this.roles.set(id, { name: named(`Ref:${id}`, { Ref: id }, scope(id)), statements });
    }
    const attach = (id: string, roleNames: unknown, statements: Statement[]) => {
      const list = resolve(roleNames, scope(id));
      for (const role of this.roles.values())
        if (Array.isArray(list) ? list.includes(role.name) : list === role.name)
          role.statements.push(...statements);
    };
    for (const [id, policy] of resourcesOf(stack, "AWS::IAM::Policy"))
      attach(id, policy.Properties?.Roles ?? [], parsed(id, policy.Properties?.PolicyDocument));
    for (const [id, policy] of resourcesOf(stack, "AWS::IAM::ManagedPolicy"))
      attach(id, policy.Properties?.Roles ?? [], managed.get(names.get(`Ref:${id}`) ?? "") ?? []);
    for (const [id, policy] of resourcesOf(stack, "AWS::IAM::RolePolicy"))
      attach(id, policy.Properties?.RoleName, parsed(id, policy.Properties?.PolicyDocument));
  }

  /** The logical id of a function's role, from its `Role: {"Fn::GetAtt": [RoleId, "Arn"]}`. */
  roleOfFunction(functionLogicalId: string): string {
    const role = this.stack.resources[functionLogicalId]?.Properties?.Role as
      | { "Fn::GetAtt"?: unknown }
      | undefined;
    const att = role?.["Fn::GetAtt"];
    const id = Array.isArray(att) && att.length === 2 && att[1] === "Arn" ? att[0] : undefined;
    if (typeof id !== "string" || !this.roles.has(id))
      throw new Error(
        `${functionLogicalId}: Role ${JSON.stringify(role)} is not the Arn of a role of the stack`,
      );
    return id;
  }

  /** The ARN a session of the role calls as: `arn:aws:sts::<account>:assumed-role/<role name>/<session>`. */
  principal(roleLogicalId: string, sessionName: string): string {
    return `arn:aws:sts::${LOCAL_ACCOUNT.account}:assumed-role/${this.role(roleLogicalId).name}/${sessionName}`;
  }

  /**
   * IAM's identity-policy decision on `action` upon `resource` by a session of the role: a matching
   * Deny wins, else a matching Allow allows; `context` holds the condition keys (names in any case).
   */
  evaluate(
    roleLogicalId: string,
    action: string,
    resource: string,
    context: Record<string, string> = {},
    sessionName = SESSION_PLACEHOLDER,
  ): Decision {
    const keys = new Map(Object.entries(context).map(([key, value]) => [key.toLowerCase(), value]));
    const matching = this.role(roleLogicalId).statements.filter((s) => s.applies(action, resource, keys));
    const denial = `User: ${this.principal(roleLogicalId, sessionName)} is not authorized to perform: ${action} on resource: ${resource}`;
    if (matching.some((s) => s.effect === "Deny"))
      return { allowed: false, message: `${denial} with an explicit deny in an identity-based policy` };
    const allow = matching.find((s) => s.effect === "Allow");
    if (allow) return { allowed: true, message: `allowed by ${allow.source}` };
    return {
      allowed: false,
      message: `${denial} because no identity-based policy allows the ${action} action`,
    };
  }

  private role(logicalId: string): Role {
    const role = this.roles.get(logicalId);
    if (!role) throw new Error(`${logicalId} is not a role of the stack`);
    return role;
  }
}
