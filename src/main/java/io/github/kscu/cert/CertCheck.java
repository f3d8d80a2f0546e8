package io.github.kscu.cert;

import java.time.Instant;

/** The outcome of one look at the serving certificate. */
public sealed interface CertCheck {

    /** Why a certificate is not (yet) usable; each is logged once when it first appears. */
    enum Problem {
        MISSING("file does not exist"),
        DANGLING_SYMLINK("symlink points to a missing file"),
        NOT_A_FILE("not a regular file"),
        UNREADABLE("file is not readable"),
        EMPTY("file is empty"),
        TOO_LARGE("file is larger than 1 MiB"),
        DER("DER-encoded; a PEM CERTIFICATE block is expected"),
        NO_CERTIFICATE("no PEM CERTIFICATE block"),
        TRUNCATED("PEM block without its END line (partial write?)"),
        CORRUPT("CERTIFICATE block does not parse"),
        KEY_UNREADABLE("the private key in the file does not parse"),
        KEY_MISMATCH("no certificate in the file belongs to its private key"),
        LEAF_IS_CA("the certificate is a CA, not a serving certificate"),
        NOT_SERVER_AUTH("the certificate's extended key usage lacks serverAuth"),
        EXPIRED("certificate has expired"),
        NOT_YET_VALID("certificate is not valid yet"),
        IDENTITY_MISMATCH("certificate does not name this node (subject CN or subject alternative names)"),
        NO_CONNECTION("kubelet port refused the connection"),
        HANDSHAKE_FAILED("kubelet TLS handshake failed (no serving certificate yet?)"),
        UNTRUSTED("certificate chain is not signed by the configured CA"),
        /** The check itself failed unexpectedly: "not valid" until a check succeeds, never a frozen verdict. */
        CHECK_FAILED("the certificate check failed unexpectedly");

        /** True when the agent cannot reach or trust the kubelet: waiting will not fix that by itself. */
        public boolean unreachable() {
            return this == NO_CONNECTION || this == UNTRUSTED;
        }

        private final String description;
        private final String reason;

        Problem(String description) {
            this.description = description;
            StringBuilder camel = new StringBuilder();
            for (String word : name().split("_")) {
                camel.append(word.charAt(0)).append(word.substring(1).toLowerCase(java.util.Locale.ROOT));
            }
            this.reason = camel.toString();
        }

        /**
         * The constant in CamelCase, as a condition's {@code reason} takes it ({@code IDENTITY_MISMATCH} is
         * {@code IdentityMismatch}); the log's {@code reason=} field has it in lower case.
         */
        public String reason() {
            return reason;
        }

        public String description() {
            return description;
        }
    }

    /**
     * A usable certificate.
     *
     * @param identityWarning non-null when the subject does not name this node and that is tolerated
     */
    record Valid(String subject, Instant notBefore, Instant notAfter, String identityWarning) implements CertCheck {
    }

    record NotYet(Problem problem, String detail) implements CertCheck {
        public String describe() {
            return detail == null || detail.isEmpty() ? problem.description() : problem.description() + ": " + detail;
        }
    }

    default boolean isValid() {
        return this instanceof Valid;
    }
}
