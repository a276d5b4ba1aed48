/**
 * The run's receiver ports (testing/world.ts `worldReceiverPorts`): a world's receivers listen on
 * the first of them that is free, so that worlds of one config, one after the other, name the
 * same URLs and are one program evaluation; one taken by another server is skipped.
 */
import * as net from "node:net";
import { RECEIVER_PORTS_ENV, startReceivers, worldReceiverPorts } from "../../testing";

/** A server listening on a random port of 127.0.0.1 (closed by the caller). */
async function listening(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return server;
}

const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
const close = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe("the receivers on the run's ports", () => {
  it("listen on the first port that is free, skipping one another server listens on", async () => {
    const taken = await listening();
    const spare = await listening();
    const free = portOf(spare);
    await close(spare);
    const receivers = await startReceivers({ ports: [portOf(taken), free] });
    try {
      expect(receivers.port).toBe(free);
      expect(receivers.pagerdutyEndpoint).toBe(`http://127.0.0.1:${free}/pagerduty/v2/enqueue`);
      // Open at the same time: the next world takes a port of its own (random when none is left).
      const second = await startReceivers({ ports: [portOf(taken), free] });
      expect([portOf(taken), free]).not.toContain(second.port);
      await second.close();
    } finally {
      await receivers.close();
      await close(taken);
    }
    // Closed: the port is free again for the next world.
    const again = await startReceivers({ ports: [free] });
    expect(again.port).toBe(free);
    await again.close();
  });

  it("are read from the environment, none outside a test run, and a bad list is named", () => {
    expect(worldReceiverPorts({ [RECEIVER_PORTS_ENV]: "41000,41001" })).toEqual([41000, 41001]);
    expect(worldReceiverPorts({})).toEqual([]);
    expect(() => worldReceiverPorts({ [RECEIVER_PORTS_ENV]: "41000,41x" })).toThrow(
      `${RECEIVER_PORTS_ENV}="41000,41x": "41x" is not a port (1-65535)`,
    );
    expect(() => worldReceiverPorts({ [RECEIVER_PORTS_ENV]: "70000" })).toThrow(/not a port/);
  });
});
