package io.github.kscu.kube;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.taint.Taint;
import io.kubernetes.client.openapi.ApiClient;
import io.kubernetes.client.openapi.ApiException;
import io.kubernetes.client.openapi.Pair;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
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

    /** Observes every answer: verb and status code ("no-response" when there was none). */
    public interface RequestObserver {
        void observe(String verb, String code);
    }

    private final ApiClient client;
    private final OkHttpClient http;
    private final RequestObserver observer;
    private final String eventNamespace;
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
        Request r = request("PATCH", nodePath(node), List.of(new Pair("fieldManager", FIELD_MANAGER)),
                NodeBodies.taintsPatch(expected, desired), "application/json-patch+json");
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
        return NodeJson.parse(execute("patch-status", statusPatch(node, NodeBodies.condition(c), false)));
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
            r = request("PATCH", nodePath(node), List.of(new Pair("dryRun", "All"),
                    new Pair("fieldManager", FIELD_MANAGER)), NodeBodies.labelPatch(CHECK_LABEL, "must-be-refused"),
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
        execute("create-event", request("POST", "/apis/events.k8s.io/v1/namespaces/" + eventNamespace + "/events",
                List.of(), NodeBodies.event(e, eventNamespace), "application/json"));
    }

    @Override
    public void close() {
        Call c = activeWatch;
        if (c != null) {
            c.cancel();
        }
    }

    private Request statusPatch(String node, JsonObject condition, boolean dryRun) {
        List<Pair> query = new ArrayList<>(List.of(new Pair("fieldManager", FIELD_MANAGER)));
        if (dryRun) {
            query.add(new Pair("dryRun", "All"));
        }
        return request("PATCH", nodePath(node) + "/status", query, NodeBodies.conditionPatch(condition),
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
