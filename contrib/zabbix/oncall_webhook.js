// Zabbix webhook media type script: sends a problem or its recovery to our alert intake.
// Zabbix runs it with `value` set to the media type's parameters as JSON (see
// media_type_oncall.yaml beside this file). {EVENT.ID} is the problem's id in both the
// problem and the recovery message, so the recovery closes the incident the problem opened.
var OnCall = {
    fields: ['event_id', 'event_value', 'event_name', 'severity', 'host', 'trigger_id',
        'opdata', 'url', 'message'],

    body: function (params) {
        var body = {};
        OnCall.fields.forEach(function (name) {
            var text = params[name];
            // An unresolved macro ({EVENT.OPDATA} with no data) is sent as empty.
            if (typeof text === 'string' && !/^\{[A-Z.$]+\}$/.test(text)) {
                body[name] = text;
            }
        });
        try {
            body.tags = JSON.parse(params.tags || '[]');
        }
        catch (error) {
            body.tags = [];
        }
        return body;
    },

    send: function (params) {
        if (typeof params.intake_url !== 'string' || !/^https?:\/\//.test(params.intake_url)) {
            throw 'Parameter "intake_url" must be the alert intake URL from the integration page';
        }
        var request = new HttpRequest();
        request.addHeader('Content-Type: application/json');
        if (params.http_proxy) {
            request.setProxy(params.http_proxy);
        }
        var response = request.post(params.intake_url, JSON.stringify(OnCall.body(params)));
        var status = request.getStatus();
        Zabbix.log(4, '[ OnCall webhook ] HTTP ' + status + ': ' + response);
        if (status !== 200) {
            throw 'Alert intake answered HTTP ' + status + ': ' + response;
        }
        return 'OK';
    }
};

try {
    return OnCall.send(JSON.parse(value));
}
catch (error) {
    Zabbix.log(3, '[ OnCall webhook ] failed: ' + error);
    throw 'OnCall webhook failed: ' + error;
}
