// The host page of the vSphere-Client stand-in (see README.md). Plain browser JS, no build step.
// State lives in `state`; the backend is /api/host/* on the same origin (client-host-server.ts);
// plugin frames talk to this page through html-client-sdk.js by postMessage (see onSdkMessage).
'use strict';

(function () {
  const LOCALE = 'en-US';
  const SDK_PROTOCOL = 1;
  const $ = (id) => document.getElementById(id);

  const state = {
    session: null, // { userName, serverGuid, vcenter, sessionToken }
    plugin: null, // GET /api/host/plugin answer, null when not loaded
    vms: [],
    selected: null, // the selected VM
    tab: 'summary', // id of the selected VM tab
    theme: 'light',
    /** iframe element → { kind: 'modal'|'view'|'global', contextObjects } */
    frames: new Map(),
    modal: null, // { frame, returnFocus }
    menu: null, // { vm, returnFocus }
  };

  // ---- backend ---------------------------------------------------------------------------

  async function api(path, options) {
    const opts = Object.assign({ credentials: 'same-origin', headers: {} }, options || {});
    if (opts.body !== undefined) {
      opts.headers['content-type'] = 'application/json';
      opts.body = JSON.stringify(opts.body);
    }
    const res = await fetch('/api/host/' + path, opts);
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = { message: res.statusText };
    }
    return { ok: res.ok, status: res.status, body };
  }

  // ---- theme -----------------------------------------------------------------------------

  function applyTheme(name, notify) {
    state.theme = name === 'dark' ? 'dark' : 'light';
    document.documentElement.dataset.theme = state.theme;
    const btn = $('theme-toggle');
    btn.setAttribute('aria-pressed', String(state.theme === 'dark'));
    btn.textContent = state.theme === 'dark' ? 'Light theme' : 'Dark theme';
    try { localStorage.setItem('hdm-client-theme', state.theme); } catch (e) { /* private mode */ }
    if (notify) {
      for (const frame of state.frames.keys()) postToFrame(frame, { type: 'event.themeChanged', payload: { name: state.theme } });
    }
  }

  // ---- login / logout --------------------------------------------------------------------

  async function showLogin(message) {
    $('app-view').hidden = true;
    $('user-name').hidden = true;
    $('logout').hidden = true;
    $('login-view').hidden = false;
    closeMenu();
    closeModal();
    clearFrames();
    state.session = null;
    state.plugin = null;
    state.selected = null;
    const err = $('login-error');
    err.hidden = !message;
    err.textContent = message || '';
    const cfg = await api('config');
    if (cfg.ok) {
      if (!$('username').value) $('username').value = cfg.body.defaultUsername || '';
      $('login-target').textContent = cfg.body.vcenter ? 'vCenter ' + cfg.body.vcenter : 'The lab is still starting.';
    }
    ($('username').value ? $('password') : $('username')).focus();
  }

  async function onLoginSubmit(event) {
    event.preventDefault();
    const submit = $('login-submit');
    const err = $('login-error');
    err.hidden = true;
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      const res = await api('login', { method: 'POST', body: { username: $('username').value, password: $('password').value } });
      if (!res.ok) {
        err.textContent = res.body.message || 'Login failed (HTTP ' + res.status + ')';
        err.hidden = false;
        $('password').select();
        return;
      }
      $('password').value = '';
      await enterApp();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  }

  async function logout() {
    await api('logout', { method: 'POST' });
    await showLogin('');
  }

  async function enterApp() {
    const res = await api('session');
    if (!res.ok) return showLogin('');
    state.session = res.body;
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('user-name').textContent = state.session.userName;
    $('user-name').hidden = false;
    $('logout').hidden = false;
    $('vcenter-name').textContent = hostName(state.session.vcenter);
    showPanel('welcome');
    await Promise.all([loadPlugin(), loadVms()]);
  }

  function hostName(url) {
    try { return new URL(url).host; } catch (e) { return url; }
  }

  // ---- plugin discovery ------------------------------------------------------------------

  async function loadPlugin() {
    const res = await api('plugin');
    const box = $('plugin-error');
    box.replaceChildren();
    if (res.status === 401) return showLogin(res.body.message);
    if (!res.ok) {
      state.plugin = null;
      box.append(text('strong', 'The remote plugin was not loaded. '), document.createTextNode(res.body.message || ''));
      if (res.body.expected || res.body.actual) {
        const dl = document.createElement('dl');
        dl.append(text('dt', 'Registered serverThumbprint'), text('dd', res.body.expected || ''),
          text('dt', 'Certificate presented'), text('dd', res.body.actual || ''));
        box.append(dl);
      }
      box.dataset.error = res.body.error || 'error';
      box.hidden = false;
    } else {
      state.plugin = res.body;
      box.hidden = true;
      delete box.dataset.error;
    }
    renderGlobalNav();
    if (state.selected) renderVmView();
  }

  function renderGlobalNav() {
    const list = $('global-nav');
    list.replaceChildren();
    const gv = state.plugin && state.plugin.globalView;
    if (!gv) {
      list.append(text('li', state.plugin ? 'No plugin views' : 'Plugin not loaded', 'muted small nav-note'));
      return;
    }
    const li = document.createElement('li');
    const btn = document.createElement('button');
    btn.type = 'button';
    btn.id = 'nav-' + cssId(gv.id);
    btn.textContent = gv.label;
    btn.addEventListener('click', () => openGlobalView(gv, btn));
    li.append(btn);
    list.append(li);
  }

  function openGlobalView(view, btn) {
    selectVm(null);
    document.querySelectorAll('#global-nav button').forEach((b) => b.removeAttribute('aria-current'));
    btn.setAttribute('aria-current', 'page');
    showPanel('global-view');
    $('global-title').textContent = view.label;
    const hostEl = $('global-frame-host');
    removeFramesIn(hostEl);
    hostEl.append(createFrame(view.url, view.label, 'global', []));
  }

  // ---- inventory -------------------------------------------------------------------------

  async function loadVms() {
    const status = $('vm-list-status');
    status.textContent = 'Loading virtual machines…';
    const res = await api('vms');
    if (res.status === 401) return showLogin(res.body.message);
    if (!res.ok) {
      status.textContent = 'Could not list virtual machines: ' + (res.body.message || res.status);
      return;
    }
    state.vms = res.body;
    status.textContent = state.vms.length ? '' : 'No virtual machines';
    renderVmList();
  }

  function renderVmList() {
    const list = $('vm-list');
    list.replaceChildren();
    state.vms.forEach((vm, i) => {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.id = 'vm-' + cssId(vm.moid);
      li.dataset.moid = vm.moid;
      li.tabIndex = i === 0 ? 0 : -1;
      li.setAttribute('aria-selected', String(!!state.selected && state.selected.moid === vm.moid));
      const dot = document.createElement('span');
      dot.className = 'power' + (vm.powerState === 'poweredOn' ? ' on' : vm.powerState === 'suspended' ? ' suspended' : '');
      dot.setAttribute('aria-hidden', 'true');
      const name = text('span', vm.name, 'vm-name');
      li.title = vm.name + ' (' + powerLabel(vm.powerState) + ')';
      li.append(dot, name);
      li.addEventListener('click', () => selectVm(vm));
      li.addEventListener('contextmenu', (e) => {
        e.preventDefault();
        selectVm(vm);
        openMenu(vm, e.clientX, e.clientY, li);
      });
      li.addEventListener('keydown', (e) => onVmKey(e, vm, li));
      list.append(li);
    });
  }

  function onVmKey(e, vm, li) {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      selectVm(vm);
    } else if (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
      e.preventDefault();
      selectVm(vm);
      const r = li.getBoundingClientRect();
      openMenu(vm, r.left + 24, r.bottom, li);
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = e.key === 'ArrowDown' ? li.nextElementSibling : li.previousElementSibling;
      if (next) {
        li.tabIndex = -1;
        next.tabIndex = 0;
        next.focus();
      }
    }
  }

  function powerLabel(p) {
    return p === 'poweredOn' ? 'Powered on' : p === 'suspended' ? 'Suspended' : 'Powered off';
  }

  function selectVm(vm) {
    state.selected = vm;
    document.querySelectorAll('#vm-list [role="option"]').forEach((li) => {
      li.setAttribute('aria-selected', String(!!vm && li.dataset.moid === vm.moid));
    });
    if (!vm) return;
    document.querySelectorAll('#global-nav button').forEach((b) => b.removeAttribute('aria-current'));
    removeFramesIn($('global-frame-host'));
    showPanel('vm-view');
    renderVmView();
  }

  function renderVmView() {
    const vm = state.selected;
    $('vm-title').textContent = vm.name;
    $('vm-power').textContent = powerLabel(vm.powerState);
    const tabs = [{ id: 'summary', label: 'Summary' }].concat(
      ((state.plugin && state.plugin.vmMonitorViews) || []).map((v) => ({ id: v.id, label: v.label, view: v })));
    if (!tabs.some((t) => t.id === state.tab)) state.tab = 'summary';
    const bar = $('vm-tabs');
    bar.replaceChildren();
    for (const t of tabs) {
      const b = document.createElement('button');
      b.type = 'button';
      b.setAttribute('role', 'tab');
      b.id = 'tab-' + cssId(t.id);
      b.textContent = t.label;
      b.setAttribute('aria-selected', String(t.id === state.tab));
      b.tabIndex = t.id === state.tab ? 0 : -1;
      b.addEventListener('click', () => { state.tab = t.id; renderVmView(); });
      bar.append(b);
    }
    const panel = $('vm-tab-panel');
    panel.setAttribute('aria-labelledby', 'tab-' + cssId(state.tab));
    removeFramesIn(panel);
    panel.replaceChildren();
    const tab = tabs.find((t) => t.id === state.tab);
    if (!tab.view) {
      const dl = document.createElement('dl');
      dl.append(text('dt', 'Name'), text('dd', vm.name), text('dt', 'Power state'), text('dd', powerLabel(vm.powerState)),
        text('dt', 'Managed object'), text('dd', vm.moid), text('dt', 'Context object id'), text('dd', vm.id));
      panel.append(dl);
    } else {
      const host = document.createElement('div');
      host.className = 'frame-host';
      host.append(createFrame(tab.view.url, tab.view.label, 'view', [{ id: vm.id }]));
      panel.append(host);
    }
  }

  function showPanel(id) {
    for (const p of ['welcome', 'vm-view', 'global-view']) $(p).hidden = p !== id;
  }

  // ---- context menu ----------------------------------------------------------------------

  function openMenu(vm, x, y, returnFocus) {
    closeMenu();
    const menu = $('context-menu');
    menu.replaceChildren(text('div', vm.name, 'menu-header'));
    menu.setAttribute('aria-label', 'Actions for ' + vm.name);
    const actions = (state.plugin && state.plugin.vmActions) || [];
    if (!actions.length) menu.append(text('div', state.plugin ? 'No plugin actions' : 'Plugin not loaded', 'menu-empty'));
    for (const a of actions) {
      const item = document.createElement('button');
      item.type = 'button';
      item.setAttribute('role', 'menuitem');
      item.tabIndex = -1;
      item.dataset.actionId = a.id;
      item.textContent = a.label;
      item.addEventListener('click', () => {
        closeMenu(false);
        openModal(a, vm, returnFocus);
      });
      menu.append(item);
    }
    menu.hidden = false;
    const r = menu.getBoundingClientRect();
    menu.style.left = Math.max(0, Math.min(x, window.innerWidth - r.width - 4)) + 'px';
    menu.style.top = Math.max(0, Math.min(y, window.innerHeight - r.height - 4)) + 'px';
    state.menu = { vm, returnFocus };
    const first = menu.querySelector('[role="menuitem"]');
    if (first) first.focus();
  }

  function closeMenu(restoreFocus) {
    const m = state.menu;
    if (!m) return;
    state.menu = null;
    $('context-menu').hidden = true;
    if (restoreFocus !== false && m.returnFocus) m.returnFocus.focus();
  }

  function onMenuKey(e) {
    const items = Array.from($('context-menu').querySelectorAll('[role="menuitem"]'));
    const i = items.indexOf(document.activeElement);
    if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      closeMenu();
    } else if (e.key === 'ArrowDown' && items.length) {
      e.preventDefault();
      items[(i + 1) % items.length].focus();
    } else if (e.key === 'ArrowUp' && items.length) {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length].focus();
    }
  }

  // ---- modal -----------------------------------------------------------------------------

  function openModal(action, vm, returnFocus) {
    closeModal();
    const frame = createFrame(action.url, action.title, 'modal', [{ id: vm.id }]);
    frame.dataset.actionId = action.id;
    const modal = $('modal');
    modal.style.width = action.width + 'px';
    modal.style.height = action.height + 'px';
    $('modal-title').textContent = action.title;
    $('modal-body').replaceChildren(frame);
    $('modal-backdrop').hidden = false;
    state.modal = { frame, returnFocus: returnFocus || document.activeElement };
    frame.focus();
  }

  function closeModal(data) {
    const m = state.modal;
    if (!m) return;
    state.modal = null;
    if (data !== undefined && data !== null) console.info('[client host] modal closed with data', data);
    unregisterFrame(m.frame);
    $('modal-body').replaceChildren();
    $('modal-backdrop').hidden = true;
    if (m.returnFocus && document.contains(m.returnFocus)) m.returnFocus.focus();
  }

  // ---- plugin frames and the SDK bridge --------------------------------------------------

  function createFrame(url, title, kind, contextObjects) {
    const frame = document.createElement('iframe');
    frame.className = 'plugin-frame';
    frame.title = title;
    frame.src = url;
    frame.dataset.kind = kind;
    state.frames.set(frame, { kind, contextObjects });
    return frame;
  }

  function unregisterFrame(frame) {
    state.frames.delete(frame);
  }

  function removeFramesIn(el) {
    el.querySelectorAll('iframe').forEach((f) => { unregisterFrame(f); f.remove(); });
  }

  function clearFrames() {
    for (const f of state.frames.keys()) f.remove();
    state.frames.clear();
  }

  function frameOf(source) {
    for (const [frame, info] of state.frames) if (frame.contentWindow === source) return { frame, info };
    return null;
  }

  function postToFrame(frame, msg) {
    if (frame.contentWindow) frame.contentWindow.postMessage(Object.assign({ hdmSdk: SDK_PROTOCOL }, msg), window.location.origin);
  }

  function onSdkMessage(event) {
    if (event.origin !== window.location.origin) return;
    const msg = event.data;
    if (!msg || msg.hdmSdk !== SDK_PROTOCOL) return;
    const hit = frameOf(event.source);
    if (!hit) return; // not one of our plugin frames (or already closed)
    const reply = (payload) => postToFrame(hit.frame, { id: msg.id, type: msg.type, payload });
    switch (msg.type) {
      case 'initialize':
        reply({
          contextObjects: hit.info.contextObjects,
          locale: LOCALE,
          proxiedOrigin: state.plugin ? window.location.origin + state.plugin.proxyBase : '',
          theme: { name: state.theme },
        });
        break;
      case 'app.getSessionInfo':
        reply({ sessionToken: state.session ? state.session.sessionToken : '' });
        break;
      case 'modal.close':
        if (hit.info.kind === 'modal' && state.modal && state.modal.frame === hit.frame) closeModal(msg.payload);
        break;
      case 'modal.setOptions': {
        if (hit.info.kind !== 'modal') break;
        const o = msg.payload || {};
        if (typeof o.title === 'string') $('modal-title').textContent = o.title;
        if (o.width) $('modal').style.width = Number(o.width) + 'px';
        if (o.height) $('modal').style.height = Number(o.height) + 'px';
        break;
      }
      default:
        console.info('[client host] SDK call not supported by the stand-in:', msg.type);
    }
  }

  // ---- helpers and wiring ----------------------------------------------------------------

  function text(tag, content, className) {
    const el = document.createElement(tag);
    el.textContent = content;
    if (className) el.className = className;
    return el;
  }

  function cssId(s) {
    return String(s).replace(/[^a-zA-Z0-9_-]/g, '-');
  }

  function boot() {
    let saved = 'light';
    try { saved = localStorage.getItem('hdm-client-theme') || 'light'; } catch (e) { /* private mode */ }
    applyTheme(saved, false);
    $('theme-toggle').addEventListener('click', () => applyTheme(state.theme === 'dark' ? 'light' : 'dark', true));
    $('login-form').addEventListener('submit', onLoginSubmit);
    $('logout').addEventListener('click', logout);
    $('modal-close').addEventListener('click', () => closeModal());
    $('vm-actions').addEventListener('click', (e) => {
      if (!state.selected) return;
      const r = e.currentTarget.getBoundingClientRect();
      openMenu(state.selected, r.left, r.bottom + 2, e.currentTarget);
    });
    $('context-menu').addEventListener('keydown', onMenuKey);
    document.addEventListener('mousedown', (e) => {
      if (state.menu && !$('context-menu').contains(e.target)) closeMenu(false);
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && state.modal && !state.menu) closeModal();
    });
    window.addEventListener('message', onSdkMessage);
    window.addEventListener('blur', () => closeMenu(false));
    enterApp().catch((e) => showLogin(String(e)));
  }

  boot();
})();
