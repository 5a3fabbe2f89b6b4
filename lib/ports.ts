import net from 'node:net';

/**
 * A TCP port free on host right now: listen on port 0, read the port the OS picked, close. Another process may take
 * it before the caller binds it; callers that bind later handle that (a start that fails on EADDRINUSE).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Whether host:port can be listened on right now (listen, then close); false on any error (in use, no access). */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}
