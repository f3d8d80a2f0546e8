package io.github.kscu.kube;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.kscu.taint.Taint;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the few Node fields we need straight from the JSON tree. Why not the generated V1Node model:
 * binding a whole Node loads hundreds of model classes at start for three fields, and re-serialising
 * taints would alter {@code timeAdded}'s format and break the JSON Patch {@code test}.
 */
final class NodeJson {
    private NodeJson() {
    }

    static NodeSnapshot parse(String body) {
        return parse(JsonParser.parseString(body).getAsJsonObject());
    }

    static NodeSnapshot parse(JsonObject node) {
        JsonObject meta = object(node, "metadata");
        JsonObject spec = object(node, "spec");
        List<Taint> taints = new ArrayList<>();
        JsonElement raw = spec == null ? null : spec.get("taints");
        if (raw != null && raw.isJsonArray()) {
            for (JsonElement e : raw.getAsJsonArray()) {
                JsonObject t = e.getAsJsonObject();
                taints.add(new Taint(string(t, "key"), string(t, "value"), string(t, "effect"), t.toString()));
            }
        }
        return new NodeSnapshot(string(meta, "name"), string(meta, "uid"), string(meta, "resourceVersion"), taints,
                taintWriters(meta), certCondition(object(node, "status")));
    }

    /** Our condition in {@code status.conditions}, or null; a malformed time reads as none. */
    private static NodeCondition certCondition(JsonObject status) {
        JsonElement raw = status == null ? null : status.get("conditions");
        if (raw == null || !raw.isJsonArray()) {
            return null;
        }
        for (JsonElement e : raw.getAsJsonArray()) {
            if (e.isJsonObject() && NodeCondition.CERT_TYPE.equals(string(e.getAsJsonObject(), "type"))) {
                JsonObject c = e.getAsJsonObject();
                String value = string(c, "status");
                return new NodeCondition(NodeCondition.CERT_TYPE, value == null ? "" : value, string(c, "reason"),
                        string(c, "message"), time(c, "lastHeartbeatTime"), time(c, "lastTransitionTime"));
            }
        }
        return null;
    }

    private static Instant time(JsonObject parent, String name) {
        String raw = string(parent, name);
        try {
            return raw == null ? null : Instant.parse(raw);
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** The managedFields entries whose fieldsV1 hold {@code f:spec.f:taints}. */
    private static List<NodeSnapshot.FieldWriter> taintWriters(JsonObject meta) {
        JsonElement raw = meta == null ? null : meta.get("managedFields");
        if (raw == null || !raw.isJsonArray()) {
            return List.of();
        }
        List<NodeSnapshot.FieldWriter> out = new ArrayList<>(2);
        for (JsonElement e : raw.getAsJsonArray()) {
            if (!e.isJsonObject()) {
                continue;
            }
            JsonObject entry = e.getAsJsonObject();
            JsonObject spec = object(object(entry, "fieldsV1"), "f:spec");
            if (spec != null && spec.has("f:taints")) {
                out.add(new NodeSnapshot.FieldWriter(string(entry, "manager"), string(entry, "operation"),
                        string(entry, "time")));
            }
        }
        return out;
    }

    static JsonObject object(JsonObject parent, String name) {
        if (parent == null) {
            return null;
        }
        JsonElement e = parent.get(name);
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : null;
    }

    static String string(JsonObject parent, String name) {
        if (parent == null) {
            return null;
        }
        JsonElement e = parent.get(name);
        return e != null && e.isJsonPrimitive() ? e.getAsString() : null;
    }
}
