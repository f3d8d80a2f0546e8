package io.github.kscu.agent;

import io.github.kscu.kube.ApiFailure;
import io.github.kscu.kube.NodeApi;
import io.github.kscu.kube.NodeCondition;
import io.github.kscu.kube.NodeSnapshot;
import io.github.kscu.taint.Taint;
import io.github.kscu.taint.Taints;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * An in-memory Node for the pure-logic tier: it enforces the one server rule the agent depends on (the
 * JSON Patch {@code test} fails with 422 when the taints changed) and can fail requests on demand.
 * Integration tests use a real kube-apiserver instead; this fake exists so that retry sequences and
 * timings are tested in milliseconds.
 */
final class FakeNodeApi implements NodeApi {
    private final String name;
    private final Object lock = new Object();
    private List<Taint> taints;
    private NodeCondition condition;
    private long rv = 100;
    private final Map<String, Deque<ApiFailure>> failures = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    final List<NodeEvent> events = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    /** A webhook re-adding this taint to the next patches' results, and the field manager it leaves behind. */
    private volatile Taint reAdd;
    private volatile int reAddTimes;
    private volatile NodeSnapshot.FieldWriter reAddWriter;
    private volatile boolean watchEndsAtOnce;
    private volatile int unansweredPatches;
    private volatile Duration watchAnswerDelay;
    /** False while the node does not exist (a wrong node name, a node not registered yet). */
    private boolean exists = true;
    /** Each watch's resourceVersion, in order (null: from the node as it is now). */
    final List<String> watchedFrom = new CopyOnWriteArrayList<>();

    FakeNodeApi(String name, Taint... taints) {
        this.name = name;
        this.taints = List.of(taints);
    }

    static Taint taint(String key, String effect) {
        return new Taint(key, null, effect, "{\"key\":\"" + key + "\",\"effect\":\"" + effect + "\"}");
    }

    /** The next calls of {@code verb} (get, patch, watch, create-event) fail with these, in order. */
    FakeNodeApi failNext(String verb, ApiFailure... f) {
        failures.computeIfAbsent(verb, v -> new ArrayDeque<>()).addAll(List.of(f));
        return this;
    }

    /**
     * The next {@code times} patches are applied but their answer is lost, as when the apiserver writes
     * after the client's timeout: the caller sees no response.
     */
    FakeNodeApi patchAppliedButUnanswered(int times) {
        unansweredPatches = times;
        return this;
    }

    /** Like a mutating webhook: the next {@code times} patches store {@code taint} again at the end. */
    FakeNodeApi reAddOnPatch(Taint taint, int times, String manager) {
        reAdd = taint;
        reAddTimes = times;
        reAddWriter = new NodeSnapshot.FieldWriter(manager, "Update", "2026-12-01T00:00:00Z");
        return this;
    }

    /** Every watch is accepted only after {@code delay}, as by an apiserver busy with a fleet's watches. */
    FakeNodeApi watchAnsweredAfter(Duration delay) {
        watchAnswerDelay = delay;
        return this;
    }

    /** Every watch ends at once without an event, as behind a proxy that closes idle streams. */
    FakeNodeApi watchEndsAtOnce() {
        watchEndsAtOnce = true;
        return this;
    }

    /** The node does not exist until {@link #create()}: GETs answer 404, watches show nothing. */
    FakeNodeApi missing() {
        synchronized (lock) {
            exists = false;
        }
        return this;
    }

    /** The node is registered, with the taints given at construction. */
    void create() {
        synchronized (lock) {
            exists = true;
            rv++;
            lock.notifyAll();
        }
    }

    int calls(String verb) {
        AtomicInteger c = calls.get(verb);
        return c == null ? 0 : c.get();
    }

    List<Taint> taints() {
        synchronized (lock) {
            return taints;
        }
    }

    /** Another writer changes the taints (Karpenter, an operator, a test). */
    void setTaints(Taint... next) {
        synchronized (lock) {
            taints = List.of(next);
            rv++;
            lock.notifyAll();
        }
    }

    List<String> eventReasons() {
        return events.stream().map(NodeEvent::reason).toList();
    }

    private void call(String verb) throws ApiFailure {
        calls.computeIfAbsent(verb, v -> new AtomicInteger()).incrementAndGet();
        Deque<ApiFailure> q = failures.get(verb);
        if (q != null) {
            ApiFailure f;
            synchronized (q) {
                f = q.poll();
            }
            if (f != null) {
                throw f;
            }
        }
    }

    private NodeSnapshot snapshot() {
        List<NodeSnapshot.FieldWriter> writers = reAddWriter == null ? List.of()
                : List.of(new NodeSnapshot.FieldWriter("kubelet-server-cert-untaint", "Update", "2026-12-01T00:00:01Z"),
                        reAddWriter);
        return new NodeSnapshot(name, "uid-" + name, Long.toString(rv), taints, writers, condition);
    }

    @Override
    public NodeSnapshot get(String node) throws ApiFailure {
        call("get");
        synchronized (lock) {
            if (!exists) {
                throw new ApiFailure(404, null, "get 404: nodes \"" + node + "\" not found");
            }
            return snapshot();
        }
    }

    @Override
    public NodeSnapshot patchTaints(String node, List<Taint> expected, List<Taint> desired) throws ApiFailure {
        call("patch");
        synchronized (lock) {
            if (!Taints.toJson(expected).equals(Taints.toJson(taints))) {
                throw new ApiFailure(422, null, "the server rejected our request: test operation failed");
            }
            taints = new ArrayList<>(desired);
            if (reAdd != null && reAddTimes > 0) {
                reAddTimes--;
                taints.add(reAdd);
            }
            rv++;
            lock.notifyAll();
            if (unansweredPatches > 0) {
                unansweredPatches--;
                throw ApiFailure.noResponse("patch: InterruptedIOException: timeout");
            }
            return snapshot();
        }
    }

    @Override
    public NodeSnapshot patchCondition(String node, NodeCondition c) throws ApiFailure {
        call("patch-status");
        synchronized (lock) {
            // As the apiserver stores it: times to the second.
            condition = new NodeCondition(c.type(), c.status(), c.reason(), c.message(),
                    c.lastHeartbeatTime().truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
                    c.lastTransitionTime().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            rv++;
            lock.notifyAll();
            return snapshot();
        }
    }

    NodeCondition condition() {
        synchronized (lock) {
            return condition;
        }
    }

    @Override
    public String watch(String node, String resourceVersion, Duration timeout, Runnable opened,
            Consumer<NodeSnapshot> onChange) throws ApiFailure, InterruptedException {
        watchedFrom.add(resourceVersion);
        call("watch");
        Duration delay = watchAnswerDelay;
        if (delay != null) {
            Thread.sleep(delay); // an apiserver slow to accept the watch (a fleet watching at once)
        }
        opened.run();
        if (watchEndsAtOnce) {
            return resourceVersion;
        }
        // Without a resourceVersion the node as it is now comes first, as the apiserver's synthetic ADDED.
        long seen = resourceVersion == null ? -1 : Long.parseLong(resourceVersion);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!closed && System.nanoTime() < deadline) {
            NodeSnapshot next = null;
            synchronized (lock) {
                if (rv == seen || !exists) {
                    lock.wait(50);
                }
                if (rv != seen && exists) {
                    next = snapshot();
                    seen = rv;
                }
            }
            if (next != null) {
                onChange.accept(next);
            }
        }
        if (closed) {
            throw new InterruptedException("closed");
        }
        return seen == -1 ? resourceVersion : Long.toString(seen);
    }

    /** Whether the dry run of a forbidden change is refused, as an admission policy in force does. */
    volatile boolean policyEnforced = true;

    @Override
    public Optional<String> dryRunForbiddenChange(String node, boolean status) throws ApiFailure {
        call(status ? "check-policy-status" : "check-policy");
        return policyEnforced ? Optional.of("denied by the fake's policy") : Optional.empty();
    }

    @Override
    public void createEvent(NodeEvent event) throws ApiFailure {
        call("create-event");
        events.add(event);
    }

    void close() {
        closed = true;
    }
}
