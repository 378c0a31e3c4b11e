<?php
// A SOAP client the way Pastell and ESUP-Oasis build theirs: PHP's SoapClient pointed at the
// server's WSDL, one associative array per call. Reads a JSON plan on stdin:
//   {"wsdl": URL, "options": {...SoapClient options...}, "calls": [{"op": NAME, "args": {...}}]}
// An argument value {"@file": PATH} is replaced by the bytes of that file (dataHandler).
// Prints one JSON line per call: {"ok": result} or {"fault": {"code", "string", "errorCode"}}.
// Binary `content` fields are printed base64-encoded so that JSON can carry them.

function files_in($v) {
    if (is_array($v)) {
        if (count($v) === 1 && array_key_exists('@file', $v)) {
            return file_get_contents($v['@file']);
        }
        foreach ($v as $k => $x) {
            $v[$k] = files_in($x);
        }
    }
    return $v;
}

// Objects become JSON objects and lists JSON arrays, so the shape PHP gives
// (one history entry as an object, several as an array) stays visible.
function plain($v, $key = null) {
    if ($v instanceof stdClass) {
        $out = new stdClass();
        foreach (get_object_vars($v) as $k => $x) {
            $out->$k = plain($x, $k);
        }
        return $out;
    }
    if (is_array($v)) {
        return array_map(function ($x) use ($key) { return plain($x, $key); }, $v);
    }
    if ($key === 'content' && is_string($v)) {
        return base64_encode($v);
    }
    return $v;
}

$plan = json_decode(stream_get_contents(STDIN), true);
$options = $plan['options'] ?? [];
$options['exceptions'] = true;
$options['trace'] = true;
$options['cache_wsdl'] = WSDL_CACHE_NONE;
if (isset($options['soap_version'])) {
    $options['soap_version'] = $options['soap_version'] === '1.2' ? SOAP_1_2 : SOAP_1_1;
}
if (isset($options['stream_context'])) {
    $options['stream_context'] = stream_context_create($options['stream_context']);
}
try {
    $client = new SoapClient($plan['wsdl'], $options);
} catch (SoapFault $f) {
    echo json_encode(['fault' => ['code' => $f->faultcode, 'string' => $f->getMessage()]]), "\n";
    exit(0);
}
foreach ($plan['calls'] as $call) {
    try {
        $result = $client->{$call['op']}(files_in($call['args'] ?? []));
        echo json_encode(['ok' => plain($result)]), "\n";
    } catch (SoapFault $f) {
        $code = null;
        if (isset($f->detail->fastFault->errorCode)) {
            $code = (int) $f->detail->fastFault->errorCode;
        }
        echo json_encode(['fault' => [
            'code' => $f->faultcode,
            'string' => $f->getMessage(),
            'errorCode' => $code,
        ]]), "\n";
    }
}
