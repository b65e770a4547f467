/** Entry of the dashboard webview bundle (dist/webview.js, with its styles in dist/webview.css). */
import 'uplot/dist/uPlot.min.css';
import '../../media/dashboard.css';
import { DashboardApp } from './app';

const root = document.getElementById('app');
if (root) new DashboardApp(root);
