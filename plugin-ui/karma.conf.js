// Karma configuration for the HDM plugin UI (used by `ng test`, builder @angular/build:karma).
// Runs in Debian's Chromium: set CHROME_BIN (defaults to /usr/bin/chromium when present).
const fs = require('node:fs');

if (!process.env.CHROME_BIN && fs.existsSync('/usr/bin/chromium')) {
  process.env.CHROME_BIN = '/usr/bin/chromium';
}

module.exports = function (config) {
  config.set({
    basePath: '',
    frameworks: ['jasmine'],
    plugins: [
      require('karma-jasmine'),
      require('karma-chrome-launcher'),
      require('./karma/summary-reporter'),
    ],
    client: {
      clearContext: true,
      jasmine: { random: true },
    },
    customLaunchers: {
      ChromeHeadlessCI: {
        base: 'Chrome',
        flags: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--no-first-run',
        ],
      },
    },
    browsers: ['ChromeHeadlessCI'],
    reporters: ['dots', 'summary'],
    port: 9876,
    colors: false,
    logLevel: config.LOG_WARN,
    autoWatch: false,
    singleRun: true,
    restartOnFileChange: false,
    browserNoActivityTimeout: 60000,
    captureTimeout: 60000,
    browserDisconnectTolerance: 1,
  });
};
