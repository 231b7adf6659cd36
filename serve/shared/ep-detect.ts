// Which execution provider really ran: onnxruntime's own session log says where every node was placed
// ("Node placements" from session_state.cc at VERBOSE severity). This module only parses those lines; it is
// browser-safe (no DOM, no node imports) and shared by the web app and the parity harness.

import { ORT_EP_NAME } from './ep-policy.js';

/** One onnxruntime log line: "2026-01-01 12:00:00.000 [V:onnxruntime:, session_state.cc:1381 Fn] message". */
export interface OrtLogLine {
  severity: 'V' | 'I' | 'W' | 'E' | 'F';
  message: string;
}

const ORT_LINE = /^\d{4}-\d\d-\d\d [\d:.]+ \[([VIWEF]):onnxruntime:[^,\]]*,\s*[^\]]*\]\s?(.*)$/s;

/** Parses an onnxruntime log line; null for anything else. */
export function parseOrtLogLine(line: string): OrtLogLine | null {
  const m = ORT_LINE.exec(line);
  return m ? { severity: m[1] as OrtLogLine['severity'], message: m[2] ?? '' } : null;
}

export interface NodePlacement {
  /** onnxruntime EP names, e.g. 'WebGpuExecutionProvider', 'CPUExecutionProvider'. */
  byEp: Record<string, number>;
  /** Total nodes in the optimised graph. */
  total: number;
  /** "OpType (name)" of every node NOT on `primary` (empty when all nodes are on one EP). */
  elsewhere: string[];
  /** The EP holding the most nodes. */
  primary: string;
}

/**
 * Node placements from a session's log lines (the messages of parseOrtLogLine, or raw lines). Handles both
 * forms onnxruntime prints: " All nodes placed on [EP]. Number of nodes: N" and, with several EPs,
 * " Node(s) placed on [EP]. Number of nodes: N" followed by one "  OpType (name)" line per node.
 * Returns null when the log has no placement section (the session was not created at VERBOSE severity).
 */
export function parseNodePlacements(lines: readonly string[]): NodePlacement | null {
  const msgs = lines.map((l) => parseOrtLogLine(l)?.message ?? l);
  // Only the last session's section counts when a log holds several.
  let from = 0;
  msgs.forEach((m, i) => {
    if (/Node placements/.test(m)) from = i + 1;
  });
  const byEp: Record<string, number> = {};
  const nodes: Record<string, string[]> = {};
  let current: string | null = null;
  for (const m of msgs.slice(from)) {
    const all = /All nodes placed on \[([^\]]+)\]\. Number of nodes: (\d+)/.exec(m);
    const some = /Node\(s\) placed on \[([^\]]+)\]\. Number of nodes: (\d+)/.exec(m);
    const hit = all ?? some;
    if (hit) {
      if (all) for (const k of Object.keys(byEp)) delete byEp[k];
      byEp[hit[1]!] = Number(hit[2]);
      nodes[hit[1]!] = [];
      current = some ? hit[1]! : null;
    } else if (current !== null && /^ {2}\S/.test(m)) {
      nodes[current]!.push(m.trim());
    } else {
      current = null;
    }
  }
  const eps = Object.keys(byEp);
  if (!eps.length) return null;
  const primary = eps.reduce((a, b) => (byEp[b]! > byEp[a]! ? b : a), eps[0]!);
  const elsewhere = eps
    .filter((e) => e !== primary)
    .flatMap((e) => (nodes[e]!.length ? nodes[e]!.map((n) => `${n} on ${e}`) : [`${byEp[e]} node(s) on ${e}`]));
  return { byEp, total: eps.reduce((s, e) => s + byEp[e]!, 0), elsewhere, primary };
}

/** onnxruntime-web EP name ('webgpu', 'wasm') -> the EP name in onnxruntime's log. */

/** Short human summary, e.g. "WebGpuExecutionProvider: all 13 nodes" or "WebGpuExecutionProvider 11/13, CPUExecutionProvider 2/13". */
export function describePlacement(p: NodePlacement | null): string {
  if (!p) return 'node placement unknown (no verbose session log)';
  const eps = Object.keys(p.byEp);
  if (eps.length === 1) return `${eps[0]}: all ${p.total} nodes`;
  return eps.map((e) => `${e} ${p.byEp[e]}/${p.total}`).join(', ');
}

/** True when every node of the graph ran on `ep` (an onnxruntime-web name like 'webgpu' or a log name). */
export function allNodesOn(p: NodePlacement | null, ep: string): boolean {
  if (!p) return false;
  const name = (ORT_EP_NAME as Record<string, string>)[ep] ?? ep;
  return p.total > 0 && p.byEp[name] === p.total;
}
