package io.github.kscu.testing;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.kubernetes.client.openapi.ApiClient;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * The test's own view of the cluster, as plain REST calls with an admin client: create a tainted Node,
 * read its taints, play another controller. Kept independent of the agent's NodeApi on purpose, so a
 * bug there cannot hide itself in the assertions.
 */
public final class Kube {
    private static final MediaType JSON = MediaType.get("application/json");
    private static final MediaType MERGE = MediaType.get("application/merge-patch+json");

    private final OkHttpClient http;
    private final String base;

    Kube(ApiClient client, ControlPlane cp) {
        this.http = client.getHttpClient();
        this.base = cp.url();
    }

    /** A taint as {@code key:Effect} or {@code key=value:Effect}. */
    public static JsonObject taint(String spec) {
        int colon = spec.lastIndexOf(':');
        String kv = spec.substring(0, colon);
        JsonObject t = new JsonObject();
        int eq = kv.indexOf('=');
        t.addProperty("key", eq < 0 ? kv : kv.substring(0, eq));
        if (eq >= 0) {
            t.addProperty("value", kv.substring(eq + 1));
        }
        t.addProperty("effect", spec.substring(colon + 1));
        return t;
    }

    public void createNode(String name, String... taints) throws IOException {
        JsonObject node = new JsonObject();
        node.addProperty("apiVersion", "v1");
        node.addProperty("kind", "Node");
        JsonObject meta = new JsonObject();
        meta.addProperty("name", name);
        node.add("metadata", meta);
        JsonObject spec = new JsonObject();
        spec.add("taints", taintArray(taints));
        node.add("spec", spec);
        call("POST", "/api/v1/nodes", node.toString(), JSON);
        // The TaintNodesByCondition admission plugin adds node.kubernetes.io/not-ready on create, as it
        // does for a real kubelet. Tests here need an exact starting list, so write it again.
        setTaints(name, taints);
    }

    public void deleteNode(String name) throws IOException {
        call("DELETE", "/api/v1/nodes/" + name, null, null);
    }

    /** The node's taints as {@code key:Effect} strings, in order. */
    public List<String> taints(String node) throws IOException {
        JsonObject n = JsonParser.parseString(call("GET", "/api/v1/nodes/" + node, null, null)).getAsJsonObject();
        List<String> out = new ArrayList<>();
        JsonObject spec = n.getAsJsonObject("spec");
        if (spec != null && spec.has("taints")) {
            for (JsonElement e : spec.getAsJsonArray("taints")) {
                JsonObject t = e.getAsJsonObject();
                out.add(t.get("key").getAsString() + (t.has("value") ? "=" + t.get("value").getAsString() : "")
                        + ":" + t.get("effect").getAsString());
            }
        }
        return out;
    }

    /** Replaces the node's taints (a merge patch: no precondition, like a careless controller). */
    public void setTaints(String node, String... taints) throws IOException {
        JsonObject spec = new JsonObject();
        spec.add("taints", taintArray(taints));
        JsonObject patch = new JsonObject();
        patch.add("spec", spec);
        call("PATCH", "/api/v1/nodes/" + node, patch.toString(), MERGE);
    }

    /** Sets one label ({@code null} removes it), as any controller writing to the node would. */
    public void label(String node, String key, String value) throws IOException {
        JsonObject labels = new JsonObject();
        labels.addProperty(key, value);
        JsonObject meta = new JsonObject();
        meta.add("labels", labels);
        JsonObject patch = new JsonObject();
        patch.add("metadata", meta);
        call("PATCH", "/api/v1/nodes/" + node, patch.toString(), MERGE);
    }

    /** Runs a JSON Patch; returns the HTTP status (the caller decides whether a conflict is expected). */
    public int jsonPatch(String node, String patch) throws IOException {
        Request r = new Request.Builder().url(base + "/api/v1/nodes/" + node)
                .patch(RequestBody.create(patch, MediaType.get("application/json-patch+json"))).build();
        try (Response response = http.newCall(r).execute()) {
            return response.code();
        }
    }

    /**
     * An events.k8s.io Event as the agent posts it, about {@code kind} {@code name} ({@code moreRegarding}:
     * further fields of {@code regarding}, each after a comma), under a fresh name.
     */
    public static String agentEvent(String kind, String name, String moreRegarding) {
        return "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"" + name + "."
                + Long.toHexString(System.nanoTime()) + "\"},\"eventTime\":\"2026-12-01T00:00:00.000000Z\","
                + "\"reportingController\":\"kubelet-server-cert-untaint\",\"reportingInstance\":\"x\","
                + "\"action\":\"RemoveTaint\",\"reason\":\"StartupTaintRemoved\",\"type\":\"Normal\","
                + "\"note\":\"Removed\",\"regarding\":{\"apiVersion\":\"v1\",\"kind\":\"" + kind
                + "\",\"name\":\"" + name + "\"" + moreRegarding + "}}";
    }

    /** Reasons of the events.k8s.io Events regarding the node, in any namespace, oldest first. */
    public List<String> eventReasons(String node) throws IOException {
        JsonObject list = JsonParser.parseString(call("GET", "/apis/events.k8s.io/v1/events"
                + "?fieldSelector=regarding.name%3D" + node, null, null)).getAsJsonObject();
        List<String> out = new ArrayList<>();
        for (JsonElement e : list.getAsJsonArray("items")) {
            out.add(e.getAsJsonObject().get("reason").getAsString());
        }
        return out;
    }

    /** The note of the newest events.k8s.io Event with this reason regarding the node, or null. */
    public String eventNote(String node, String reason) throws IOException {
        JsonObject list = JsonParser.parseString(call("GET", "/apis/events.k8s.io/v1/events"
                + "?fieldSelector=regarding.name%3D" + node, null, null)).getAsJsonObject();
        String note = null;
        for (JsonElement e : list.getAsJsonArray("items")) {
            JsonObject event = e.getAsJsonObject();
            if (reason.equals(event.get("reason").getAsString())) {
                note = event.get("note").getAsString();
            }
        }
        return note;
    }

    /** A TokenRequest token for a ServiceAccount (optionally bound to a pod). */
    public String serviceAccountToken(String namespace, String sa) throws IOException {
        JsonObject spec = new JsonObject();
        spec.addProperty("expirationSeconds", 3600);
        JsonObject body = new JsonObject();
        body.addProperty("apiVersion", "authentication.k8s.io/v1");
        body.addProperty("kind", "TokenRequest");
        body.add("spec", spec);
        JsonObject answer = JsonParser.parseString(call("POST", "/api/v1/namespaces/" + namespace + "/serviceaccounts/"
                + sa + "/token", body.toString(), JSON)).getAsJsonObject();
        return answer.getAsJsonObject("status").get("token").getAsString();
    }

    /**
     * A token of the agent's ServiceAccount bound to a Pod on {@code node}, as the kubelet mints for the
     * agent's pod: it carries the {@code authentication.kubernetes.io/node-name} claim.
     */
    public String podBoundAgentToken(String node) throws IOException {
        return podBoundToken("kube-system", "kubelet-server-cert-untaint", node);
    }

    /** A token of ServiceAccount {@code sa} in {@code namespace}, bound to a new Pod of it on {@code node}. */
    public String podBoundToken(String namespace, String sa, String node) throws IOException {
        String name = "agent-" + node + "-" + Long.toHexString(System.nanoTime());
        String pod = """
                {"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s"},
                 "spec":{"nodeName":"%s","serviceAccountName":"%s",
                         "containers":[{"name":"agent","image":"kubelet-server-cert-untaint"}]}}"""
                .formatted(name, namespace, node, sa);
        String uid = JsonParser.parseString(call("POST", "/api/v1/namespaces/" + namespace + "/pods", pod, JSON))
                .getAsJsonObject().getAsJsonObject("metadata").get("uid").getAsString();
        String request = """
                {"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600,
                 "boundObjectRef":{"apiVersion":"v1","kind":"Pod","name":"%s","uid":"%s"}}}""".formatted(name, uid);
        return JsonParser.parseString(call("POST",
                "/api/v1/namespaces/" + namespace + "/serviceaccounts/" + sa + "/token", request, JSON))
                .getAsJsonObject().getAsJsonObject("status").get("token").getAsString();
    }

    /** Any request; returns the body of a 2xx answer, throws with the status otherwise. */
    public String call(String method, String path, String body, MediaType type) throws IOException {
        Request.Builder b = new Request.Builder().url(base + path);
        b.method(method, body == null ? (method.equals("DELETE") ? null : null) : RequestBody.create(body, type));
        try (Response r = http.newCall(b.build()).execute()) {
            String text = r.body().string();
            if (!r.isSuccessful()) {
                throw new IOException(method + " " + path + " -> " + r.code() + ": " + text);
            }
            return text;
        }
    }

    private static JsonArray taintArray(String... taints) {
        JsonArray a = new JsonArray();
        for (String t : taints) {
            a.add(taint(t));
        }
        return a;
    }
}
