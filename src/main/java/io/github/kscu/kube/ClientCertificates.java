package io.github.kscu.kube;

import io.github.kscu.pem.Pem;
import io.github.kscu.pem.PrivateKeys;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Arrays;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;

/**
 * Client-certificate key managers with the JDK alone, for a kubeconfig with {@code client-certificate}
 * and {@code client-key} (outside a pod); the key is read by {@link PrivateKeys}.
 */
final class ClientCertificates {
    private static final char[] PASSWORD = "kscu".toCharArray();

    private ClientCertificates() {
    }

    static KeyManager[] keyManagers(byte[] certPem, byte[] keyPem) throws GeneralSecurityException, IOException {
        Certificate[] chain = CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(certPem)).toArray(new Certificate[0]);
        if (chain.length == 0) {
            throw new GeneralSecurityException("no certificate in client-certificate data");
        }
        PrivateKey key = privateKey(keyPem);
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        store.setKeyEntry("client", key, PASSWORD, chain);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(store, PASSWORD);
        return kmf.getKeyManagers();
    }

    /** The first private key block's key; blocks before it (EC PARAMETERS and the like) are skipped. */
    static PrivateKey privateKey(byte[] pem) throws GeneralSecurityException {
        Pem.Scanner blocks = new Pem.Scanner(pem);
        try {
            for (Pem.Block b; (b = blocks.next()) != null; ) {
                if (PrivateKeys.isKey(b.label())) {
                    byte[] der = Pem.decode(pem, b);
                    try {
                        return PrivateKeys.parse(b.label(), der);
                    } finally {
                        Arrays.fill(der, (byte) 0);
                    }
                }
            }
        } catch (Pem.TruncatedException e) {
            // a block cut off holds no key: as if there were none
        }
        throw new GeneralSecurityException("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY PEM block");
    }
}
