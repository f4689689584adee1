/**
 * Runs inside the sandbox, first: relays 127.0.0.1:<port> to the proxy's unix socket (the sandbox has no
 * other network), then starts the worker's command and exits with its status.
 *   node proxy-bridge.js <socket> <port> <command> [args...]
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';

const [socketPath, portText, command, ...args] = process.argv.slice(2);
if (socketPath === undefined || portText === undefined || command === undefined) {
  process.stderr.write('usage: proxy-bridge <socket> <port> <command> [args...]\n');
  process.exit(2);
}
const server = createServer((client) => {
  const upstream = connect(socketPath);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(Number(portText), '127.0.0.1', () => {
  const child = spawn(command, args, { stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    process.exit(code ?? (signal === null ? 1 : 128));
  });
  child.on('error', (error) => {
    process.stderr.write(`${command}: ${error.message}\n`);
    process.exit(127);
  });
});
