import { connect, createServer, type Server, type Socket } from "node:net";

/** A loopback TCP proxy to a service that a test can take down and bring back on the same port. */
export type TcpProxy = Readonly<{ port: number; down(): Promise<void>; up(): Promise<void> }>;

/** Starts a proxy from a free loopback port to `127.0.0.1:target`. */
export async function startTcpProxy(target: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const up = async () => {
    const listening = createServer((client) => {
      const upstream = connect({ port: target, host: "127.0.0.1" });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => listening.listen(port, "127.0.0.1", resolve));
    port = (listening.address() as { port: number }).port;
    server = listening;
  };
  const down = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
    server = undefined;
  };
  await up();
  return {
    get port() {
      return port;
    },
    down,
    up,
  };
}
