package io.github.kscu.it;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.testing.ControlPlane;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * What happened to a few objects, from watches on the real apiserver: every change of an object's summary
 * (a Node's taints, a NodeClaim's conditions, a Pod's node), with its time since the start. Watches see
 * every resourceVersion, so a state that lasted a millisecond is in the timeline too.
 */
final class Timeline implements AutoCloseable {
    /** One change: the object, its new summary, and the object itself. */
    record Entry(long millis, String object, String summary, JsonObject json) {
        @Override
        public String toString() {
            return "%+7d ms  %-40s %s".formatted(millis, object, summary);
        }
    }

    private final long start = System.nanoTime();
    private final OkHttpClient http;
    private final String base;
    private final List<Entry> entries = new ArrayList<>();
    private final Map<String, String> last = new HashMap<>();
    private final List<Call> calls = new ArrayList<>();

    Timeline(ControlPlane cp) {
        this.http = cp.admin().getHttpClient().newBuilder().readTimeout(Duration.ZERO).callTimeout(Duration.ZERO)
                .build();
        this.base = cp.url();
    }

    /** Watches a collection ({@code path} with its query) and records each change of {@code summary}. */
    Timeline watch(String kind, String path, Function<JsonObject, String> summary) {
        Call call = http.newCall(new Request.Builder().url(base + path + (path.contains("?") ? "&" : "?") + "watch=1")
                .build());
        synchronized (this) {
            calls.add(call);
        }
        Thread.ofPlatform().daemon().name("timeline-" + kind).start(() -> {
            try (Response r = call.execute();
                    BufferedReader in = new BufferedReader(new InputStreamReader(r.body().byteStream(),
                            StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null;) {
                    JsonObject event = JsonParser.parseString(line).getAsJsonObject();
                    JsonObject o = event.getAsJsonObject("object");
                    if (!event.get("type").getAsString().matches("ADDED|MODIFIED|DELETED")) {
                        continue;
                    }
                    String name = kind + "/" + o.getAsJsonObject("metadata").get("name").getAsString();
                    String s = event.get("type").getAsString().equals("DELETED") ? "deleted" : summary.apply(o);
                    record(name, s, o);
                }
            } catch (IOException | RuntimeException e) {
                if (!call.isCanceled()) {
                    record(kind, "watch failed: " + e, new JsonObject());
                }
            }
        });
        return this;
    }

    private synchronized void record(String object, String summary, JsonObject json) {
        if (!summary.equals(last.put(object, summary))) {
            entries.add(new Entry(Duration.ofNanos(System.nanoTime() - start).toMillis(), object, summary, json));
        }
    }

    /** Records what the test itself did, between the changes it caused. */
    synchronized void note(String what) {
        entries.add(new Entry(Duration.ofNanos(System.nanoTime() - start).toMillis(), "test", what, new JsonObject()));
    }

    synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }

    /** The first entry of {@code kind} that matches, if any yet. */
    Optional<Entry> first(String kind, Predicate<Entry> p) {
        return entries().stream().filter(e -> e.object().startsWith(kind + "/") && p.test(e)).findFirst();
    }

    /** The entries of {@code kind} (e.g. "node"). */
    List<Entry> of(String kind) {
        return entries().stream().filter(e -> e.object().startsWith(kind + "/")).toList();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        entries().forEach(e -> b.append(e).append('\n'));
        return b.toString();
    }

    @Override
    public synchronized void close() {
        calls.forEach(Call::cancel);
    }

    // Summaries of the objects the Karpenter tier follows.

    /** {@code taints=[k:E, ...] registered=true} of a Node. */
    static String node(JsonObject n) {
        return "taints=" + taints(n) + " registered=" + label(n, "karpenter.sh/registered").orElse("-")
                + " ready=" + condition(n, "Ready").orElse("-");
    }

    /** The Launched, Registered and Initialized conditions of a NodeClaim. */
    static String nodeClaim(JsonObject c) {
        String initialized = condition(c, "Initialized").orElse("-");
        return "Launched=" + condition(c, "Launched").orElse("-") + " Registered="
                + condition(c, "Registered").orElse("-") + " Initialized=" + initialized
                + (initialized.equals("True") ? "" : reason(c, "Initialized").map(r -> " (" + r + ")").orElse(""));
    }

    /** Where a Pod is bound. */
    static String pod(JsonObject p) {
        JsonObject spec = p.getAsJsonObject("spec");
        return "node=" + (spec.has("nodeName") ? spec.get("nodeName").getAsString() : "-") + " phase="
                + p.getAsJsonObject("status").get("phase").getAsString();
    }

    /** A Node's taints as {@code key:Effect}, in order. */
    static List<String> taints(JsonObject n) {
        List<String> taints = new ArrayList<>();
        JsonElement spec = n.get("spec");
        if (spec != null && spec.getAsJsonObject().has("taints")) {
            for (JsonElement t : spec.getAsJsonObject().getAsJsonArray("taints")) {
                JsonObject o = t.getAsJsonObject();
                taints.add(o.get("key").getAsString() + ":" + o.get("effect").getAsString());
            }
        }
        return taints;
    }

    static Optional<String> label(JsonObject o, String key) {
        JsonObject labels = o.getAsJsonObject("metadata").getAsJsonObject("labels");
        return labels == null || !labels.has(key) ? Optional.empty() : Optional.of(labels.get(key).getAsString());
    }

    static Optional<String> condition(JsonObject o, String type) {
        return conditionField(o, type, "status");
    }

    private static Optional<String> reason(JsonObject o, String type) {
        return conditionField(o, type, "reason");
    }

    private static Optional<String> conditionField(JsonObject o, String type, String field) {
        JsonObject status = o.getAsJsonObject("status");
        if (status == null || !status.has("conditions")) {
            return Optional.empty();
        }
        for (JsonElement c : status.getAsJsonArray("conditions")) {
            JsonObject cond = c.getAsJsonObject();
            if (cond.get("type").getAsString().equals(type) && cond.has(field)) {
                return Optional.of(cond.get(field).getAsString());
            }
        }
        return Optional.empty();
    }
}
