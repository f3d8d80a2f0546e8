package io.github.kscu.kube;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.taint.Taint;
import io.github.kscu.taint.Taints;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.Pair;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import okio.BufferedSource;

/**
 * {@link NodeApi} over client-java's {@link ApiClient}: its configuration, authentication (including
 * token rotation) and TLS, with the requests themselves built by hand. Every request has its own
 * timeout; the watch's read timeout is the server-side watch timeout plus a margin.
 */
public final class HttpNodeApi implements NodeApi, AutoCloseable {
    public static final String FIELD_MANAGER = "kubelet-server-cert-untaint";
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    private static final String[] AUTH = {"BearerToken"};
    private static final DateTimeFormatter MICRO_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSX");

    /** Observes every answer: verb and status code ("no-response" when there was none). */
    public interface RequestObserver {
        void observe(String verb, String code);
    }

    private final ApiClient client;
    private final OkHttpClient http;
    private final RequestObserver observer;
    private final String eventNamespace;
    /** The longest object name: a DNS subdomain. */
    private static final int MAX_NAME = 253;
    private volatile Call activeWatch;

    /** @param eventNamespace where Events are posted: the agent's own namespace, where its Role allows it */
    public HttpNodeApi(ApiClient client, RequestObserver observer, String eventNamespace) {
        this.client = client;
        this.eventNamespace = eventNamespace;
        this.http = client.getHttpClient().newBuilder().callTimeout(REQUEST_TIMEOUT).build();
        this.observer = observer;
    }

    @Override
    public NodeSnapshot get(String node) throws ApiFailure {
        return NodeJson.parse(execute("get", request("GET", nodePath(node), List.of(), null, null)));
    }

    @Override
    public NodeSnapshot patchTaints(String node, List<Taint> expected, List<Taint> desired) throws ApiFailure {
        // spec.taints has no merge key, so the whole list is replaced; the test op turns a stale read into a
        // conflict instead of silently dropping a taint another writer added in between.
        String patch = "[{\"op\":\"test\",\"path\":\"/spec/taints\",\"value\":" + Taints.toJson(expected) + "},"
                + "{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":" + Taints.toJson(desired) + "}]";
        Request r = request("PATCH", nodePath(node), List.of(new Pair("fieldManager", FIELD_MANAGER)),
                patch.getBytes(StandardCharsets.UTF_8), "application/json-patch+json");
        return NodeJson.parse(execute("patch", r));
    }

    /**
     * Why a strategic merge patch: conditions merge by {@code type}, so the patch names only ours and the
     * kubelet's own status updates (every few seconds, the same way) can never be overwritten or
     * conflict. A JSON Patch would need our entry's index and a {@code test} that each kubelet
     * heartbeat breaks; a GET-and-update (NRC's reporter) rewrites every condition it read.
     * {@code lastTransitionTime} is kept by the caller, which knows the stored condition.
     */
    @Override
    public NodeSnapshot patchCondition(String node, NodeCondition c) throws ApiFailure {
        JsonObject condition = new JsonObject();
        condition.addProperty("type", c.type());
        condition.addProperty("status", c.status());
        condition.addProperty("reason", c.reason());
        condition.addProperty("message", c.message());
        condition.addProperty("lastHeartbeatTime", c.lastHeartbeatTime().truncatedTo(ChronoUnit.SECONDS).toString());
        condition.addProperty("lastTransitionTime", c.lastTransitionTime().truncatedTo(ChronoUnit.SECONDS).toString());
        return NodeJson.parse(execute("patch-status", statusPatch(node, condition, false)));
    }

    /** The label the start-up check asks to add; never stored (a dry run), and refused by the policy. */
    public static final String CHECK_LABEL = "kubelet-server-cert-untaint.io/admission-check";
    /** The condition type the start-up check asks to add to nodes/status: not the agent's, so refused. */
    public static final String CHECK_CONDITION = "kubelet-server-cert-untaint.io/AdmissionCheck";

    @Override
    public Optional<String> dryRunForbiddenChange(String node, boolean status) throws ApiFailure {
        Request r;
        if (status) {
            JsonObject condition = new JsonObject();
            condition.addProperty("type", CHECK_CONDITION);
            condition.addProperty("status", "True");
            r = statusPatch(node, condition, true);
        } else {
            String patch = "{\"metadata\":{\"labels\":{\"" + CHECK_LABEL + "\":\"must-be-refused\"}}}";
            r = request("PATCH", nodePath(node), List.of(new Pair("dryRun", "All"),
                    new Pair("fieldManager", FIELD_MANAGER)), patch.getBytes(StandardCharsets.UTF_8),
                    "application/merge-patch+json");
        }
        try {
            execute("check-policy", r);
            return Optional.empty();
        } catch (ApiFailure f) {
            if (f.status() == 403) {
                return Optional.of(f.getMessage());
            }
            throw f;
        }
    }

    @Override
    public String watch(String node, String resourceVersion, Duration timeout, Runnable opened,
            Consumer<NodeSnapshot> onChange) throws ApiFailure, InterruptedException {
        List<Pair> query = new ArrayList<>(List.of(new Pair("fieldSelector", "metadata.name=" + node),
                new Pair("watch", "true"), new Pair("allowWatchBookmarks", "true"),
                new Pair("timeoutSeconds", Long.toString(Math.max(1, timeout.toSeconds())))));
        if (resourceVersion != null) {
            // Without one, the apiserver first sends the node as it is now (a synthetic ADDED event).
            query.add(new Pair("resourceVersion", resourceVersion));
        }
        OkHttpClient watchHttp = http.newBuilder().callTimeout(Duration.ZERO)
                .readTimeout(timeout.plusSeconds(30)).build();
        Call call = watchHttp.newCall(request("GET", "/api/v1/nodes", query, null, null));
        activeWatch = call;
        String rv = resourceVersion;
        try (Response response = call.execute()) {
            observer.observe("watch", Integer.toString(response.code()));
            if (!response.isSuccessful()) {
                throw failure("watch", response);
            }
            opened.run();
            BufferedSource source = response.body().source();
            String line;
            while ((line = source.readUtf8Line()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonObject event = JsonParser.parseString(line).getAsJsonObject();
                String type = NodeJson.string(event, "type");
                JsonObject object = NodeJson.object(event, "object");
                if ("ERROR".equals(type)) {
                    Number code = object != null && object.has("code") ? object.get("code").getAsNumber() : null;
                    throw new ApiFailure(code == null ? 500 : code.intValue(), null,
                            "watch error: " + NodeJson.string(object, "message"));
                }
                String eventRv = NodeJson.string(NodeJson.object(object, "metadata"), "resourceVersion");
                if (eventRv != null) {
                    rv = eventRv;
                }
                if ("ADDED".equals(type) || "MODIFIED".equals(type)) {
                    onChange.accept(NodeJson.parse(object));
                }
            }
            return rv;
        } catch (IOException e) {
            if (Thread.currentThread().isInterrupted() || (e instanceof InterruptedIOException && call.isCanceled())) {
                throw new InterruptedException("watch cancelled");
            }
            observer.observe("watch", "no-response");
            throw ApiFailure.noResponse("watch: " + describe(e));
        } finally {
            activeWatch = null;
        }
    }

    @Override
    public void createEvent(NodeEvent e) throws ApiFailure {
        JsonObject body = new JsonObject();
        body.addProperty("apiVersion", "events.k8s.io/v1");
        body.addProperty("kind", "Event");
        JsonObject meta = new JsonObject();
        meta.addProperty("name", eventName(e.node(), System.currentTimeMillis() * 1_000_000L
                + System.nanoTime() % 1_000_000L));
        meta.addProperty("namespace", eventNamespace);
        body.add("metadata", meta);
        body.addProperty("eventTime", MICRO_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)));
        body.addProperty("reportingController", FIELD_MANAGER);
        String instance = FIELD_MANAGER + "-" + e.node();
        body.addProperty("reportingInstance", instance.length() > 128 ? instance.substring(0, 128) : instance);
        body.addProperty("action", e.action());
        body.addProperty("reason", e.reason());
        body.addProperty("type", e.type());
        body.addProperty("note", e.note().length() > 1024 ? e.note().substring(0, 1024) : e.note());
        JsonObject regarding = new JsonObject();
        regarding.addProperty("apiVersion", "v1");
        regarding.addProperty("kind", "Node");
        regarding.addProperty("name", e.node());
        if (e.nodeUid() != null) {
            regarding.addProperty("uid", e.nodeUid());
        }
        body.add("regarding", regarding);
        execute("create-event", request("POST", "/apis/events.k8s.io/v1/namespaces/" + eventNamespace + "/events", List.of(),
                body.toString().getBytes(StandardCharsets.UTF_8), "application/json"));
    }

    /**
     * "{@code <node>.<hex nanos>}", as client-go's recorder names them (generateName would need a prefix
     * ending in '-', and the apiserver rejects "{@code <node>.}" as one), within the 253 characters of a
     * name: a node name can take all 253 itself, so a long one is cut, and the cut never ends in '-' or
     * '.', which a DNS subdomain may not. The node is in {@code regarding}; the name only has to be unique.
     */
    static String eventName(String node, long nanos) {
        String suffix = "." + Long.toHexString(nanos);
        String head = node.length() + suffix.length() <= MAX_NAME ? node : node.substring(0, MAX_NAME - suffix.length());
        int end = head.length();
        while (end > 0 && (head.charAt(end - 1) == '-' || head.charAt(end - 1) == '.')) {
            end--;
        }
        return head.substring(0, end) + suffix;
    }

    @Override
    public void close() {
        Call c = activeWatch;
        if (c != null) {
            c.cancel();
        }
    }

    private Request statusPatch(String node, JsonObject condition, boolean dryRun) {
        JsonArray conditions = new JsonArray();
        conditions.add(condition);
        JsonObject status = new JsonObject();
        status.add("conditions", conditions);
        JsonObject patch = new JsonObject();
        patch.add("status", status);
        List<Pair> query = new ArrayList<>(List.of(new Pair("fieldManager", FIELD_MANAGER)));
        if (dryRun) {
            query.add(new Pair("dryRun", "All"));
        }
        return request("PATCH", nodePath(node) + "/status", query, patch.toString().getBytes(StandardCharsets.UTF_8),
                "application/strategic-merge-patch+json");
    }

    private static String nodePath(String node) {
        return "/api/v1/nodes/" + node;
    }

    private Request request(String method, String path, List<Pair> query, byte[] body, String contentType) {
        Map<String, String> headers = new HashMap<>();
        headers.put("Accept", "application/json");
        if (contentType != null) {
            headers.put("Content-Type", contentType);
        }
        try {
            return client.buildRequest(null, path, method, new ArrayList<>(query), new ArrayList<>(), body, headers,
                    new HashMap<>(), new HashMap<>(), AUTH, null);
        } catch (ApiException e) {
            throw new IllegalStateException("cannot build " + method + " " + path + ": " + e.getMessage(), e);
        }
    }

    private String execute(String verb, Request request) throws ApiFailure {
        try (Response response = http.newCall(request).execute()) {
            observer.observe(verb, Integer.toString(response.code()));
            if (!response.isSuccessful()) {
                throw failure(verb, response);
            }
            return response.body().string();
        } catch (IOException e) {
            observer.observe(verb, "no-response");
            throw ApiFailure.noResponse(verb + ": " + describe(e));
        }
    }

    private static ApiFailure failure(String verb, Response response) {
        String message = null;
        try {
            String body = response.body().string();
            JsonObject status = JsonParser.parseString(body).getAsJsonObject();
            message = NodeJson.string(status, "message");
        } catch (IOException | RuntimeException ignored) {
            // not a Status object: the code alone says enough
        }
        return new ApiFailure(response.code(), retryAfter(response.header("Retry-After")),
                verb + " " + response.code() + (message == null ? "" : ": " + message));
    }

    static Duration retryAfter(String header) {
        if (header == null) {
            return null;
        }
        try {
            return Duration.ofSeconds(Long.parseLong(header.strip()));
        } catch (NumberFormatException e) {
            return null; // HTTP-date form: the apiserver never sends it; fall back to backoff
        }
    }

    private static String describe(IOException e) {
        return e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
    }
}
