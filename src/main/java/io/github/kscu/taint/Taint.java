package io.github.kscu.taint;

/**
 * A taint as the API server returned it.
 *
 * @param json the element exactly as the server serialised it. The JSON Patch {@code test} operation
 *             compares against the stored object, so re-serialising (for example {@code timeAdded} with
 *             different second precision) would turn every patch into a spurious conflict.
 */
public record Taint(String key, String value, String effect, String json) {
    @Override
    public String toString() {
        return key + (value == null || value.isEmpty() ? "" : "=" + value) + ":" + effect;
    }
}
