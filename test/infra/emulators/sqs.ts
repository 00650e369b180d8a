import type { Authorize, Caller } from "./access.ts";

/** A message a queue received, and who sent it. */
export interface QueuedMessage {
  body: string;
  sender: string;
}

/**
 * The stack's SQS queues, for what AWS services send into them on a role's behalf (Lambda's
 * on-failure destination): each send checked against that role's identity policies
 * (`sqs:SendMessage` on the queue's ARN) and refused as AWS refuses it.
 */
export class SqsQueues {
  private readonly queues = new Map<string, QueuedMessage[]>();

  constructor(
    arns: Iterable<string>,
    private readonly authorize: Authorize,
  ) {
    for (const arn of arns) this.queues.set(arn, []);
  }

  /** Sends `record` to the queue `arn` as `caller`; throws AWS's denial, or for an unknown queue. */
  send(caller: Caller, arn: string, record: unknown): void {
    const denied = this.authorize(caller, { action: "sqs:SendMessage", resources: [arn] });
    if (denied) throw new Error(`AccessDenied: ${denied}`);
    const queue = this.queues.get(arn);
    if (!queue) throw new Error(`AWS.SimpleQueueService.NonExistentQueue: ${arn}`);
    queue.push({
      body: JSON.stringify(record),
      sender: caller.kind === "operator" ? "operator" : caller.session,
    });
  }

  /** The messages in the queue `arn`, oldest first. */
  messages(arn: string): QueuedMessage[] {
    return [...(this.queues.get(arn) ?? [])];
  }
}
