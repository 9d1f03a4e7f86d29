// htmlClientSdk for plugin iframes, served by the client host at /api/ui/htmlClientSdk.js, the path
// the vSphere Client serves its remote-plugin SDK at (plugin-ui/src/index.html loads it from there).
// It talks to the host page (host.js) by postMessage, like the real SDK: initialize() does a
// handshake that brings the frame's context (context objects, locale, proxied plugin origin, theme);
// the synchronous getters then answer from that context. Messages carry `hdmSdk: 1` and are accepted
// only from the same origin (the plugin runs same-origin through the /plugins/<key>/ proxy).
(function () {
  'use strict';
  if (window.htmlClientSdk) return;

  var PROTOCOL = 1;
  var host = window.parent && window.parent !== window ? window.parent : null;
  var origin = window.location.origin;
  var context = { contextObjects: [], locale: navigator.language || 'en-US', proxiedOrigin: '', theme: { name: 'light' } };
  var initialized = false;
  var initCallbacks = [];
  var themeCallbacks = [];
  var pending = {};
  var nextId = 1;

  function send(type, payload, onReply) {
    if (!host) return false;
    var msg = { hdmSdk: PROTOCOL, type: type, payload: payload === undefined ? null : payload };
    if (onReply) {
      msg.id = nextId++;
      pending[msg.id] = onReply;
    }
    host.postMessage(msg, origin);
    return true;
  }

  window.addEventListener('message', function (event) {
    if (event.origin !== origin || event.source !== host) return;
    var msg = event.data;
    if (!msg || msg.hdmSdk !== PROTOCOL) return;
    if (msg.id && pending[msg.id]) {
      var cb = pending[msg.id];
      delete pending[msg.id];
      cb(msg.payload);
      return;
    }
    if (msg.type === 'event.themeChanged') {
      context.theme = msg.payload;
      themeCallbacks.slice().forEach(function (cb) { cb(msg.payload); });
    }
  });

  function markReady() {
    initialized = true;
    var cbs = initCallbacks;
    initCallbacks = [];
    cbs.forEach(function (cb) { cb(); });
  }

  function copy(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  window.htmlClientSdk = {
    /** Runs `callback` once the host has answered the handshake (at once outside a host page). */
    initialize: function (callback) {
      if (typeof callback === 'function') initCallbacks.push(callback);
      if (initialized) return markReady();
      if (initCallbacks.length > 1) return; // handshake already under way
      if (!send('initialize', { href: window.location.href }, function (ctx) {
        context = ctx;
        markReady();
      })) markReady();
    },
    isInitialized: function () { return initialized; },
    app: {
      /** `[{ id: "urn:vmomi:VirtualMachine:<moid>:<serverGuid>" }]` for the object the view/action is for. */
      getContextObjects: function () { return copy(context.contextObjects) || []; },
      /** Asks the host each time: a re-login changes the token. */
      getSessionInfo: function (callback) {
        if (!send('app.getSessionInfo', null, callback)) callback({ sessionToken: '' });
      },
      getClientLocale: function () { return context.locale; },
      /** `<client host origin>/plugins/<extensionKey>`: the plugin server as proxied by the host. */
      getProxiedPluginServerOrigin: function () { return context.proxiedOrigin; },
      getTheme: function () { return copy(context.theme); },
      getClientInfo: function () { return { type: 'html', version: '8.0.3' }; },
      navigateTo: function (options) { send('app.navigateTo', options || {}); },
    },
    modal: {
      /** Closes the modal this frame runs in; `data` is handed to the host (logged there). */
      close: function (data) { send('modal.close', data === undefined ? null : data); },
      /** Title / size changes; the host applies title, width and height. */
      setOptions: function (options) { send('modal.setOptions', options || {}); },
      openModalDialog: function (options) { send('modal.open', options || {}); },
    },
    event: {
      onThemeChanged: function (callback) { if (typeof callback === 'function') themeCallbacks.push(callback); },
      onGlobalRefresh: function () { /* the host page has no global refresh */ },
    },
  };
})();
