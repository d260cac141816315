/** ForwardAck carries the error's code: the receiver's forwardAckOf and the sender's forwardAckError agree. */
import { ConveyorError, ERROR_CODES, type EdgeLogger, type ErrorCode } from "../src/errors";
import { decodeForwardAck, encodeForwardAck } from "../src/sdk/wire";
import { forwardAckOf } from "./peer-server";
import { forwardAckError } from "./stage-clients";

const silent = { error: (): void => undefined };

describe("ForwardAck code", () => {
  it.each((Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => c !== "INTERNAL"))(
    "%s: the sender rebuilds the receiver's error from the code, over the wire",
    (code) => {
      const ack = forwardAckOf(7, new ConveyorError(code, `why ${code}: it said so`), silent);
      expect(ack).toMatchObject({ batchId: 7, code, error: `why ${code}: it said so` });
      expect(ack.retryable).toBe(ERROR_CODES[code].retryable);
      const wire = encodeForwardAck({ ...ack, batchId: Number(ack.batchId) });
      const e = forwardAckError(decodeForwardAck(wire) as Parameters<typeof forwardAckError>[0]);
      expect(e).toBeInstanceOf(ConveyorError);
      expect({ code: e.code, message: e.message, retryable: e.retryable }).toEqual({
        code,
        message: `why ${code}: it said so`,
        retryable: ERROR_CODES[code].retryable,
      });
    },
  );

  it("redacts an INTERNAL error in the ack and logs it in full", () => {
    const lines: object[] = [];
    const ack = forwardAckOf(3, new ConveyorError("INTERNAL", "secret invariant"), {
      error: (fields: object) => void lines.push(fields),
      bindings: () => ({ component: "peer-server" }),
    } as EdgeLogger);
    expect(ack.code).toBe("INTERNAL");
    expect(ack.error).toMatch(/^internal error \(see the peer-server log, ref [0-9a-f]{8}\)$/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ err: expect.objectContaining({ message: "secret invariant" }) });
  });

  it("takes an ack whose code is not one of ours as the peer's bug (INTERNAL), not a stage failure", () => {
    const e = forwardAckError({
      batchId: 1,
      credits: 1,
      error: "odd",
      retryable: true,
      code: "NOPE",
      written: 0,
      filtered: 0,
      deadLettered: 0,
    });
    expect(e).toMatchObject({ code: "INTERNAL", message: "odd", details: { peerCode: "NOPE" } });
  });
});
