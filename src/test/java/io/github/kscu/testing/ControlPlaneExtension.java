package io.github.kscu.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.List;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.tinylog.Logger;

/**
 * Gives tests a {@link ControlPlane}. Classes without options share one for the whole run (started once,
 * stopped when JUnit finishes); a class annotated with {@link Options} gets its own.
 */
public final class ControlPlaneExtension implements BeforeAllCallback, ParameterResolver {
    /** A control plane of this class's own, with special flags. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.TYPE)
    public @interface Options {
        int maxRequestsInflight() default 0;

        int maxMutatingRequestsInflight() default 0;

        /** More kube-apiserver flags. */
        String[] apiserverFlags() default {};

        /** The kube-apiserver binary of {@code make tools} (ControlPlane.Options.OLDEST_APISERVER: 1.32). */
        String apiserver() default ControlPlane.Options.APISERVER;
    }

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ControlPlaneExtension.class);

    /** Closes the control plane when its store is closed (end of class or of the run). */
    @SuppressWarnings("deprecation") // CloseableResource: still what 5.x closes by default
    private record Handle(ControlPlane cp) implements ExtensionContext.Store.CloseableResource {
        @Override
        public void close() {
            cp.close();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        controlPlane(context);
    }

    private static ControlPlane controlPlane(ExtensionContext context) {
        Class<?> test = context.getRequiredTestClass();
        Options o = test.getAnnotation(Options.class);
        ExtensionContext.Store store = o == null ? context.getRoot().getStore(NS) : context.getStore(NS);
        String key = o == null ? "shared" : test.getName();
        return store.getOrComputeIfAbsent(key, k -> {
            try {
                ControlPlane cp = ControlPlane.start(o == null ? ControlPlane.Options.DEFAULT
                        : new ControlPlane.Options(o.maxRequestsInflight(), o.maxMutatingRequestsInflight(),
                                List.of(o.apiserverFlags()), o.apiserver()));
                Logger.tag("test").info("control plane up in {} ms url={} for={}", cp.startTime().toMillis(),
                        cp.url(), key);
                return new Handle(cp);
            } catch (Exception e) {
                throw new IllegalStateException("cannot start the test control plane: " + e.getMessage(), e);
            }
        }, Handle.class).cp();
    }

    @Override
    public boolean supportsParameter(ParameterContext p, ExtensionContext e) {
        return p.getParameter().getType() == ControlPlane.class;
    }

    @Override
    public Object resolveParameter(ParameterContext p, ExtensionContext e) {
        return controlPlane(e);
    }
}
