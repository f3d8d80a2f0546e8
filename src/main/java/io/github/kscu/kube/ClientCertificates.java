package io.github.kscu.kube;

import io.github.kscu.cert.Der;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;

/**
 * Client-certificate key managers with the JDK alone. Kubeconfig keys come as PKCS#8, PKCS#1 (RSA) or
 * SEC1 (EC) PEM; the last two are wrapped into PKCS#8 with a few bytes of DER rather than pulling
 * 10 MB of Bouncy Castle into the image for a path the in-cluster agent never takes.
 */
final class ClientCertificates {
    private static final Pattern PEM = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");
    /** AlgorithmIdentifier rsaEncryption with NULL parameters. */
    private static final byte[] RSA_ALGORITHM = hex("300d06092a864886f70d0101010500");
    /** OID id-ecPublicKey. */
    private static final byte[] EC_PUBLIC_KEY_OID = hex("06072a8648ce3d0201");
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

    static PrivateKey privateKey(byte[] pem) throws GeneralSecurityException {
        Matcher m = PEM.matcher(new String(pem, StandardCharsets.US_ASCII));
        while (m.find()) {
            String label = m.group(1);
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            try {
                switch (label) {
                    case "PRIVATE KEY":
                        return pkcs8(der, "RSA", "EC", "Ed25519");
                    case "RSA PRIVATE KEY":
                        return pkcs8(wrap(RSA_ALGORITHM, der), "RSA");
                    case "EC PRIVATE KEY":
                        byte[] algorithm = sequence(concat(EC_PUBLIC_KEY_OID, curveOid(der)));
                        return pkcs8(wrap(algorithm, der), "EC");
                    default:
                        break; // EC PARAMETERS and the like precede the key
                }
            } finally {
                Arrays.fill(der, (byte) 0);
            }
        }
        throw new GeneralSecurityException("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY PEM block");
    }

    private static PrivateKey pkcs8(byte[] der, String... algorithms) throws GeneralSecurityException {
        GeneralSecurityException last = null;
        for (String algorithm : algorithms) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw last;
    }

    /** PrivateKeyInfo ::= SEQUENCE { version 0, algorithm, OCTET STRING key }. */
    private static byte[] wrap(byte[] algorithm, byte[] key) {
        return sequence(concat(hex("020100"), algorithm, tlv(0x04, key)));
    }

    /** The named curve from SEC1's {@code [0] parameters}: ECPrivateKey ::= SEQUENCE { 1, key, [0] OID, ... }. */
    private static byte[] curveOid(byte[] sec1) throws GeneralSecurityException {
        for (Der.Element e : Der.children(sec1, Der.root(sec1))) {
            if (e.tag() == 0xa0) {
                return Arrays.copyOfRange(sec1, e.start(), e.end());
            }
        }
        throw new GeneralSecurityException("EC PRIVATE KEY without named-curve parameters");
    }

    private static byte[] sequence(byte[] content) {
        return tlv(0x30, content);
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
        out.write(tag);
        int len = content.length;
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        out.writeBytes(content);
        return out.toByteArray();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    private static byte[] hex(String s) {
        return java.util.HexFormat.of().parseHex(s);
    }
}
