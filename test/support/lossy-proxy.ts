import { startTcpProxy } from './tcp-proxy.js';

export interface LossyProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** How many answers were dropped so far. */
  dropped(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy on loopback in front of `target` that loses answers the way a flaky network
 * does: the request reaches the server whole, and when the server's answer to a request whose
 * head matches `drop` starts to come back, the client's connection is cut. `times` answers are
 * lost, then everything passes.
 */
export async function startLossyProxy(target: URL, drop: RegExp, times = 1): Promise<LossyProxy> {
  let dropped = 0;
  const proxy = await startTcpProxy(Number(target.port), (client, upstream) => {
    let loseNextAnswer = false;
    client.on('data', (chunk: Buffer) => {
      if (dropped < times && drop.test(chunk.toString('latin1'))) loseNextAnswer = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (loseNextAnswer) {
        dropped++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
  });
  return { url: `http://127.0.0.1:${proxy.port}`, dropped: () => dropped, close: proxy.close };
}
