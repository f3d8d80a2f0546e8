package io.github.kscu.kube;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.kscu.taint.Taint;
import io.github.kscu.taint.Taints;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;

/** The bodies of the agent's writes, as the apiserver reads them; {@link NodeJson} reads its answers. */
final class NodeBodies {
    private static final DateTimeFormatter MICRO_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSX");
    /** The longest object name: a DNS subdomain. */
    private static final int MAX_NAME = 253;

    private NodeBodies() {
    }

    /**
     * spec.taints has no merge key, so the whole list is replaced; the test op turns a stale read into a
     * conflict instead of silently dropping a taint another writer added in between.
     */
    static byte[] taintsPatch(List<Taint> expected, List<Taint> desired) {
        return ("[{\"op\":\"test\",\"path\":\"/spec/taints\",\"value\":" + Taints.toJson(expected) + "},"
                + "{\"op\":\"replace\",\"path\":\"/spec/taints\",\"value\":" + Taints.toJson(desired) + "}]")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** A merge patch adding one label; both are constants of ours, with nothing to escape. */
    static byte[] labelPatch(String key, String value) {
        return ("{\"metadata\":{\"labels\":{\"" + key + "\":\"" + value + "\"}}}").getBytes(StandardCharsets.UTF_8);
    }

    static JsonObject condition(NodeCondition c) {
        JsonObject condition = new JsonObject();
        condition.addProperty("type", c.type());
        condition.addProperty("status", c.status());
        condition.addProperty("reason", c.reason());
        condition.addProperty("message", c.message());
        condition.addProperty("lastHeartbeatTime", c.lastHeartbeatTime().truncatedTo(ChronoUnit.SECONDS).toString());
        condition.addProperty("lastTransitionTime", c.lastTransitionTime().truncatedTo(ChronoUnit.SECONDS).toString());
        return condition;
    }

    /** A strategic merge patch of nodes/status with one condition, merged by its type. */
    static byte[] conditionPatch(JsonObject condition) {
        JsonArray conditions = new JsonArray();
        conditions.add(condition);
        JsonObject status = new JsonObject();
        status.add("conditions", conditions);
        JsonObject patch = new JsonObject();
        patch.add("status", status);
        return bytes(patch);
    }

    static byte[] event(NodeApi.NodeEvent e, String namespace) {
        JsonObject body = new JsonObject();
        body.addProperty("apiVersion", "events.k8s.io/v1");
        body.addProperty("kind", "Event");
        JsonObject meta = new JsonObject();
        meta.addProperty("name", eventName(e.node(), System.currentTimeMillis() * 1_000_000L
                + System.nanoTime() % 1_000_000L));
        meta.addProperty("namespace", namespace);
        body.add("metadata", meta);
        body.addProperty("eventTime", MICRO_TIME.format(ZonedDateTime.now(ZoneOffset.UTC)));
        body.addProperty("reportingController", HttpNodeApi.FIELD_MANAGER);
        String instance = HttpNodeApi.FIELD_MANAGER + "-" + e.node();
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
        return bytes(body);
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

    private static byte[] bytes(JsonObject json) {
        return json.toString().getBytes(StandardCharsets.UTF_8);
    }
}
