package io.github.kscu.agent;

import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.taint.TaintSelector;
import io.github.kscu.taint.Taints;
import java.util.List;
import org.tinylog.Logger;
import org.tinylog.TaggedLogger;

/**
 * The latest known state of this agent's Node, with its plan, and why reading it fails if it does. Written
 * by the node watch, by GETs and by the answers to our own writes; read by removal, settle, the condition,
 * Events and readiness. Each new state wakes waiters through {@link Changes}.
 */
final class LatestNode {
    private static final TaggedLogger LOG = Logger.tag("node");

    private final String node;
    private final List<TaintSelector> selectors;
    private final Changes changes;
    private NodeView latest; // guarded by this
    private volatile String readError;

    LatestNode(String node, List<TaintSelector> selectors, Changes changes) {
        this.node = node;
        this.selectors = selectors;
        this.changes = changes;
    }

    /**
     * Records a state of the node unless an equal or newer one is known, and returns its view (the plan
     * is computed here, once per snapshot). Resource versions are opaque, but for one object they are
     * etcd revisions and grow; when one does not parse as a number, the newest arrival wins.
     */
    NodeView offer(NodeSnapshot s) {
        NodeView view = new NodeView(s, Taints.plan(s.taints(), selectors));
        boolean first;
        synchronized (this) {
            if (latest != null && !isNewer(s.resourceVersion(), latest.node().resourceVersion())) {
                return view;
            }
            first = latest == null;
            latest = view;
        }
        if (first) {
            // The node is known: credentials, TLS and RBAC work (the benchmark times start-up to this line).
            LOG.info("node read, watching it node={} taints={}", node, s.taints().size());
        }
        changes.signal();
        return view;
    }

    static boolean isNewer(String candidate, String known) {
        try {
            return Long.parseLong(candidate) > Long.parseLong(known);
        } catch (NumberFormatException e) {
            return !candidate.equals(known);
        }
    }

    /** The latest known state, or {@code null} before the node was first seen (on the watch or by a GET). */
    synchronized NodeView get() {
        return latest;
    }

    /** What the last failed read or watch said, or {@code null} while reading works. */
    String readError() {
        return readError;
    }

    void readError(String error) {
        readError = error;
    }
}
