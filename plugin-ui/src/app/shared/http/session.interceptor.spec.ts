import { HttpClient, HttpErrorResponse, provideHttpClient, withInterceptors } from '@angular/common/http';
import { HttpTestingController, provideHttpClientTesting } from '@angular/common/http/testing';
import { TestBed } from '@angular/core/testing';
import { installFakeSdk, removeFakeSdk } from '@shared/testing/fake-sdk';
import { toApiError } from './api-error';
import { SessionStateService } from './session-state.service';
import { SESSION_HEADER, sessionInterceptor } from './session.interceptor';

/** Lets the interceptor's promise (session token) settle. */
const settle = () => new Promise<void>((r) => setTimeout(r, 0));

describe('sessionInterceptor', () => {
  let http: HttpClient;
  let ctrl: HttpTestingController;
  let session: SessionStateService;

  function setup(): void {
    TestBed.configureTestingModule({
      providers: [provideHttpClient(withInterceptors([sessionInterceptor])), provideHttpClientTesting()],
    });
    http = TestBed.inject(HttpClient);
    ctrl = TestBed.inject(HttpTestingController);
    session = TestBed.inject(SessionStateService);
  }

  afterEach(() => {
    ctrl.verify();
    removeFakeSdk();
  });

  it('adds the vSphere session token header and the proxied origin to API calls', async () => {
    installFakeSdk({ token: 'abc', origin: 'https://vc.example/plugins/hdm' });
    setup();
    http.get('/api/v1/clouds').subscribe();
    await settle();
    const req = ctrl.expectOne('https://vc.example/plugins/hdm/api/v1/clouds');
    expect(req.request.headers.get(SESSION_HEADER)).toBe('abc');
    req.flush([]);
  });

  it('leaves non-API requests alone', async () => {
    installFakeSdk({ token: 'abc', origin: 'https://vc.example' });
    setup();
    http.get('assets/i18n/en-US.json').subscribe();
    await settle();
    const req = ctrl.expectOne('assets/i18n/en-US.json');
    expect(req.request.headers.has(SESSION_HEADER)).toBeFalse();
    req.flush({});
  });

  it('sends API calls without a header when there is no SDK', async () => {
    removeFakeSdk();
    setup();
    http.get('/api/v1/jobs').subscribe();
    await settle();
    const req = ctrl.expectOne('/api/v1/jobs');
    expect(req.request.headers.has(SESSION_HEADER)).toBeFalse();
    req.flush([]);
  });

  it('turns a 401 into the session-expired state', async () => {
    installFakeSdk();
    setup();
    let error: unknown;
    http.get('/api/v1/jobs').subscribe({ error: (e) => (error = e) });
    await settle();
    ctrl.expectOne('/api/v1/jobs').flush({ message: 'no session' }, { status: 401, statusText: 'Unauthorized' });
    expect(session.expired()).toBeTrue();
    expect(error instanceof HttpErrorResponse).toBeTrue();
    expect(toApiError(error).sessionExpired).toBeTrue();
  });

  it('does not flag other errors as an expired session', async () => {
    installFakeSdk();
    setup();
    let error: unknown;
    http.get('/api/v1/jobs').subscribe({ error: (e) => (error = e) });
    await settle();
    ctrl.expectOne('/api/v1/jobs').flush({ message: 'boom' }, { status: 500, statusText: 'Server Error' });
    expect(session.expired()).toBeFalse();
    expect(toApiError(error)).toEqual({ status: 500, sessionExpired: false, message: 'boom' });
  });
});

describe('toApiError', () => {
  it('keeps the server message as is, or none', () => {
    const withMsg = new HttpErrorResponse({ status: 409, error: { message: 'VM "web" is already migrating' } });
    expect(toApiError(withMsg)).toEqual({ status: 409, sessionExpired: false, message: 'VM "web" is already migrating' });
    const html = new HttpErrorResponse({ status: 502, error: '<html>bad gateway</html>' });
    expect(toApiError(html).message).toBeNull();
    const text = new HttpErrorResponse({ status: 400, error: 'bad cloud' });
    expect(toApiError(text).message).toBe('bad cloud');
    expect(toApiError(new Error('offline'))).toEqual({ status: 0, sessionExpired: false, message: 'offline' });
  });
});
