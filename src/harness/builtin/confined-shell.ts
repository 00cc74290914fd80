/**
 * One long-lived confined shell server per builtin run, so a sandboxed `bash` call does not
 * pay for a new bubblewrap sandbox and network launcher each time. Started lazily on the
 * first call (`node -e SERVER` inside the run's sandbox, under the parent-death watchdog,
 * bwrap's --die-with-parent kept), it takes commands as JSON lines on stdin and runs each as
 * `/bin/sh -c` in its own process group; output chunks and the exit come back as JSON lines
 * on stdout. The semantics of runBash stay: timeout and abort send SIGTERM to the command's
 * group and SIGKILL after the grace; what the command leaves in the background is SIGKILLed
 * when it exits; output is captured the same way. Closed at the run's end (the PID namespace
 * takes anything left with it); a server that died is started again by the next call.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { KILL_GRACE_MS, releaseWatchdog, signalGroup, watched } from "../../lib/process-tree.js";
import type { OpenSandbox } from "../sandbox/sandbox.js";

/** Inside the sandbox; plain ESM for `node --input-type=module -e`, no import of ours. */
const SERVER_SOURCE = String.raw`
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
const children = new Map();
const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");
const kill = (pid, signal) => { try { process.kill(-pid, signal); } catch {} };
createInterface({ input: process.stdin }).on("line", (line) => {
  const message = JSON.parse(line);
  if (message.type === "signal") {
    const child = children.get(message.id);
    if (child?.pid) kill(child.pid, message.signal);
    return;
  }
  const { id, command, cwd, env } = message;
  const child = spawn("/bin/sh", ["-c", command], { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.set(id, child);
  const out = (chunk) => send({ type: "out", id, data: chunk.toString("base64") });
  child.stdout.on("data", out);
  child.stderr.on("data", out);
  child.once("error", (error) => out(Buffer.from(error.message + "\n")));
  child.once("exit", () => { if (child.pid) kill(child.pid, "SIGKILL"); });
  child.once("close", (code, signal) => { children.delete(id); send({ type: "done", id, code, signal }); });
});
process.stdin.on("end", () => { for (const child of children.values()) if (child.pid) kill(child.pid, "SIGKILL"); process.exit(0); });
send({ type: "ready" });
`;

export interface ShellCall {
  command: string;
  cwd: string;
  env: Record<string, string>;
  onOutput: (text: string) => void;
}

export interface ShellCallHandle {
  /** Settles when the command and its pipes are done (or the server died). */
  done: Promise<{ exitCode: number | null; signal: string | null }>;
  /** SIGTERM to the command's group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): void;
}

type Message =
  | { type: "ready" }
  | { type: "out"; id: number; data: string }
  | { type: "done"; id: number; code: number | null; signal: string | null };

interface Pending {
  onOutput: (text: string) => void;
  resolve: (value: { exitCode: number | null; signal: string | null }) => void;
}

interface Server {
  child: ChildProcess;
  ready: Promise<void>;
  /** Its commands still running: settled when it dies. */
  pending: Map<number, Pending>;
}

export class ConfinedShell {
  private server: Server | null = null;
  private nextId = 1;

  constructor(
    private readonly sandbox: Pick<OpenSandbox, "file" | "wrap" | "env">,
    private readonly cwd: string,
  ) {}

  run(call: ShellCall): ShellCallHandle {
    const id = this.nextId++;
    const server = this.start();
    const done = new Promise<{ exitCode: number | null; signal: string | null }>((resolve) => {
      server.pending.set(id, { onOutput: call.onOutput, resolve });
    });
    void server.ready.then(
      () => this.send(server.child, { type: "run", id, command: call.command, cwd: call.cwd, env: call.env }),
      () => {},
    );
    let killTimer: NodeJS.Timeout | undefined;
    void done.finally(() => clearTimeout(killTimer));
    return {
      done,
      stop: (graceMs = KILL_GRACE_MS) => {
        const signal = (name: NodeJS.Signals) =>
          void server.ready.then(
            () => this.send(server.child, { type: "signal", id, signal: name }),
            () => {},
          );
        if (graceMs <= 0) return signal("SIGKILL");
        signal("SIGTERM");
        killTimer = setTimeout(() => signal("SIGKILL"), graceMs);
      },
    };
  }

  /** Ends the server (and with its PID namespace whatever still runs in it). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const exited = new Promise<void>((done) => {
      if (server.child.exitCode !== null || server.child.signalCode !== null) done();
      else server.child.once("close", () => done());
    });
    server.child.stdin?.end();
    const timer = setTimeout(() => {
      if (server.child.pid !== undefined) signalGroup(server.child.pid, "SIGKILL");
    }, 2000);
    await exited;
    clearTimeout(timer);
  }

  private start(): Server {
    if (this.server) return this.server;
    const [file, args] = watched(
      this.sandbox.file,
      this.sandbox.wrap(process.execPath, ["--input-type=module", "-e", SERVER_SOURCE]),
    );
    const child = spawn(file, args, {
      cwd: this.cwd,
      env: this.sandbox.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-2000);
    });
    child.stdin!.on("error", () => {});
    const pending = new Map<number, Pending>();
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        let message: Message;
        try {
          message = JSON.parse(line) as Message;
        } catch {
          return;
        }
        if (message.type === "ready") resolve();
        else if (message.type === "out")
          pending.get(message.id)?.onOutput(Buffer.from(message.data, "base64").toString("utf8"));
        else if (message.type === "done") {
          pending.get(message.id)?.resolve({ exitCode: message.code, signal: message.signal });
          pending.delete(message.id);
        }
      });
      child.once("close", () => {
        reject(new Error("the sandboxed shell ended"));
        releaseWatchdog(child);
        if (this.server?.child === child) this.server = null;
        for (const call of pending.values()) {
          call.onOutput(`the sandboxed shell ended${stderr.trim() ? `: ${stderr.trim()}` : ""}\n`);
          call.resolve({ exitCode: null, signal: null });
        }
        pending.clear();
      });
    });
    ready.catch(() => {});
    this.server = { child, ready, pending };
    return this.server;
  }

  private send(child: ChildProcess, message: object): void {
    child.stdin?.write(`${JSON.stringify(message)}\n`);
  }
}
