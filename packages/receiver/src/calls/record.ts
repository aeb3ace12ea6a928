import type { CallEventType, CallFlow, HangupStatus, WebhookPayload } from '@callhook/contract';

/** An event of a call (as opposed to a text message). */
export type CallEvent = WebhookPayload<CallEventType>;

/** One side of a call, as far as the events tell. */
export interface Party {
  number?: string;
  name?: string;
  /** The extension as the events write it, `xxx*yyy@domain`. */
  extension?: string;
  extensionId?: number;
}

/**
 * One component of a call (`SubCallID`): an extension rung, a queue or IVR thread, an outgoing or
 * forwarded dial. Times are `EventTime` values and durations are microseconds, like the events.
 */
export interface CallLeg {
  subCallId: string;
  flow: CallFlow | undefined;
  /** The extension the leg belongs to: the one rung (`in`) or calling (`out`). */
  extension: Party;
  /** Who this leg reached: the rung extension, or the dialled number. */
  callee: Party;
  /** This leg's events in `EventTime` order, duplicates removed. */
  events: CallEvent[];
  startTime: number;
  answerTime: number | undefined;
  /** The hangup's `EventTime`; undefined when the hangup never came. */
  endTime: number | undefined;
  /** How the leg ended (the hangup's `CallStatus`). */
  status: HangupStatus | undefined;
  /** Queue and IVR threads say whether the caller got through; other legs leave it out. */
  bridged: 'yes' | 'no' | undefined;
  answered: boolean;
  /** Talk time on this leg: `BridgedDuration` when given (queues count waiting in `Duration`), else `Duration`. */
  talkDuration: number;
  recId: string | undefined;
  /** A dial-out made by forwarding (`Transfered=yes`), not by the extension's user. */
  forwarded: boolean;
}

/** A whole call, assembled from every event that carried its `CallID`. */
export interface CallRecord {
  callId: string;
  /** The direction of the leg that started the call. */
  direction: CallFlow;
  caller: Party;
  callee: Party;
  /** Someone took the call (for a queue or IVR: `Bridged=yes`). */
  answered: boolean;
  /** An incoming call nobody took. */
  missed: boolean;
  /** Who took it, when a leg says so; a queue's own thread does not name the agent. */
  answeredBy: Party | undefined;
  /** `ANSWER` when answered; otherwise how the last unanswered leg ended. */
  status: HangupStatus;
  startTime: number;
  endTime: number;
  /** Microseconds of conversation; legs that overlap (the queue and its agent) count once. */
  talkDuration: number;
  /** Recording ids (`RecID`) of the call's hangups and voicemail. */
  recordings: string[];
  voicemail: { recId: string | undefined; duration: number | undefined } | undefined;
  /** The outside number the call was forwarded to. */
  forwardedTo: string | undefined;
  callApiId: string | undefined;
  callBackId: string | undefined;
  tag: string | undefined;
  legs: CallLeg[];
  /** False when the call was given up on before every leg hung up. */
  complete: boolean;
}
